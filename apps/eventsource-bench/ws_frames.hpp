// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// The frames a WebSocket server sends (RFC 6455, unmasked), as far as the
// bench needs them: the payload of each text or binary message, and whether
// the server closed. Pings are not answered (servers do not require it
// within a run).

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace es::bench {

class WsFrameDecoder {
 public:
  enum class Status { more, closed, malformed };
  /// Calls `on_message` with each complete data message's payload.
  Status feed(std::string_view bytes, const std::function<void(std::string_view)>& on_message);

 private:
  std::string buffer_;
};

/// The event data in a message: eventsource-server's {"data":"...",...}
/// object, or (nchan) the payload itself.
std::string_view ws_event_data(std::string_view payload) noexcept;

}  // namespace es::bench
