// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// How an event is written into a Redis stream entry and read back, and how
// a PUBLISH message becomes a live event. Pure: the store hands in the
// fields hiredis read and gets an Event or the reason the entry is skipped.
//
// An entry's fields: `data` (required, may be empty), `event` (the name;
// "close" also ends the token's streams after it), `retry` (whole
// milliseconds). Other fields are ignored, so outside programs may add
// their own. Entry ids ("1732886400000-0") are StorePositions {ms, seq}.

#include "server/pubsub/publication.hpp"

#include <es/event.hpp>
#include <es/event_kind.hpp>
#include <es/result.hpp>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace es {

using EntryField = std::pair<std::string_view, std::string_view>;

/// What entries and messages from outside must satisfy (a POST's rules).
struct EntryRules {
  const EventKind& kind; ///< -j: data must be JSON (the kind's transform)
  std::size_t max_data;  ///< --max-body
};

struct StreamEvent {
  Event event;
  bool close_after = false; ///< named "close": end the token's streams after it
};

/// "ms-seq" as a position; fails on anything else.
Result<StorePosition> parse_entry_id(std::string_view id);
std::string format_entry_id(StorePosition position);

/// The event an entry holds (its id not set), or why it is skipped.
Result<StreamEvent> event_from_entry(std::span<const EntryField> fields, const EntryRules& rules);
/// A PUBLISH payload as a live event (no name, no id), or why it is skipped.
Result<Event> event_from_message(std::string_view payload, const EntryRules& rules);

/// The fields XADD writes for `event` (which passed the kind's rules already).
/// Views into `event` and `retry_text`, which must outlive the result.
std::vector<EntryField> entry_fields(const Event& event, std::string& retry_text);

}  // namespace es
