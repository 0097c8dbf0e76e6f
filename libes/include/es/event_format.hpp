// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// Events as text for a terminal or for another program: the three output
// modes of eventsource-client. Each function returns whole lines, ending in LF.

#include <es/export.hpp>
#include <es/event.hpp>

#include <string>

namespace es {

/// For people: a header line with the type, then `id=` and `retry=` when
/// set, then each line of data behind "| " (so leading spaces, empty lines
/// and the number of lines are visible), then a blank line:
///
///   ping id=7 retry=5000ms
///   | first line
///   |
///   | third line
///
/// Control characters other than tab are shown as \xNN so they cannot drive
/// the terminal; use format_json_line() when the exact bytes matter.
ES_API std::string format_for_people(const Event& e);

/// For programs: one JSON object per line,
/// {"event":TYPE,"data":DATA,"id":ID|null,"retry":MS|null}. TYPE is "message"
/// for an unnamed event. Bytes that are not UTF-8 become U+FFFD.
ES_API std::string format_json_line(const Event& e);

/// The data alone, then LF (data of several lines gives several lines).
ES_API std::string format_data_line(const Event& e);

}  // namespace es
