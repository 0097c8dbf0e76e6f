// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// Event -> bytes on the wire (WHATWG HTML, "Server-sent events", the
// text/event-stream format). Lines end in LF. Data is split on CRLF, LF and a
// lone CR, one `data:` line each, so no body can break the framing.
//
// An event is serialized once into an immutable shared buffer (SharedBytes)
// that every subscriber's write queue references: fan-out copies pointers,
// not bytes.

#include <es/export.hpp>
#include <es/event.hpp>
#include <es/result.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

namespace es {

/// Immutable bytes shared by every subscriber an event is written to.
using SharedBytes = std::shared_ptr<const std::string>;

/// Why `e` cannot be written, or an empty string if it can: a name or id
/// holding CR or LF would end the field early; an id holding NUL is ignored
/// by every client (WHATWG), so it is refused too, as is a negative retry
/// (clients accept ASCII digits only).
ES_API std::string invalid_event_reason(const Event& e);

/// The wire form of `e`: `id:`, `retry:`, `event:`, then `data:` lines, then
/// a blank line. Every field is written as `name: value` (one space, which the
/// parser strips, so a value starting with a space survives). Line breaks in
/// data become LF once parsed back: the wire cannot carry CR.
/// A named event with empty data gets one empty `data: ` line, so clients
/// dispatch it (with empty data) rather than dropping it. An event with neither
/// data nor name (a retry-only or id-only message) has no data line; a client
/// updates its retry or last id and dispatches nothing.
/// Fails with invalid_event_reason(e). Allocates once (the exact size).
ES_API Result<std::string> serialize(const Event& e);
/// serialize() into a buffer ready to share.
ES_API Result<SharedBytes> serialize_shared(const Event& e);

/// A comment block (`: text` per line, then a blank line): clients ignore it,
/// proxies see traffic. Used for keepalives.
ES_API std::string serialize_comment(std::string_view text);

}  // namespace es
