// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// One connection attempt of the client: a GET over cpp-httplib whose body is
// handed on as it arrives, until the server closes, the connection breaks,
// or the caller stops it. Reconnecting is the caller's business.

#include "client/sockets.hpp"

#include <es/client.hpp>
#include <es/url.hpp>

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace es::client_detail {

struct StreamHooks {
  /// The answer was 200 text/event-stream.
  std::function<void()> on_open;
  /// The next bytes of the body of an open stream; false drops the connection.
  std::function<bool(std::string_view)> on_bytes;
  /// A redirect is being followed to this URL. Optional.
  std::function<void(const std::string&)> on_redirect;
};

struct StreamOutcome {
  /// The stream opened (on_open was called).
  bool opened = false;
  /// on_bytes returned false (the caller knows why).
  bool dropped = false;
  /// Why the attempt failed or the open stream broke; nullopt when an open
  /// stream ended because the server closed it, or when the attempt was
  /// stopped or dropped.
  std::optional<ClientError> error;
};

/// Runs one attempt. `last_event_id` is sent as Last-Event-ID when not empty.
/// Returns promptly once `sockets.shut_down()` is called.
StreamOutcome stream_once(const Url& url, const ClientOptions& options, const std::string& last_event_id,
                          SocketRegistry& sockets, const StreamHooks& hooks);

}  // namespace es::client_detail
