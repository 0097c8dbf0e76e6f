// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// One server-sent event, as written by the serializer and read back by the parser.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace es {

struct Event {
  /// The `event:` field. Empty means the default type, "message" (WHATWG).
  std::string name;
  /// The payload. May hold any line breaks (LF, CRLF, lone CR); the serializer
  /// writes one `data:` line per line and the parser joins them with LF.
  std::string data;
  /// The `id:` field. Empty means no id line is written. A parsed event carries
  /// the stream's last event id, which persists across events (WHATWG).
  std::string id;
  /// The `retry:` field: the reconnection time the client should use.
  std::optional<std::chrono::milliseconds> retry;

  /// The type a browser dispatches: name, or "message" when name is empty.
  std::string_view type() const noexcept { return name.empty() ? std::string_view("message") : name; }

  friend bool operator==(const Event&, const Event&) = default;
};

}  // namespace es
