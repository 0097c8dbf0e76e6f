// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// What eventsource-request does once its command line is read: get the data,
// check it, POST it, print the answer, and decide the exit status.

#include <es/publish.hpp>

#include <cstdio>
#include <optional>
#include <string>

namespace es::apps {

/// Exit statuses of eventsource-request (man/eventsource-request.1, EXIT STATUS).
namespace request_exit {
inline constexpr int ok = 0;           ///< the server accepted the event (2xx)
inline constexpr int http_error = 1;   ///< the server answered with an error status
inline constexpr int usage = 2;        ///< bad command line
inline constexpr int timeout = 3;      ///< no connection or no answer in time
inline constexpr int unreachable = 4;  ///< refused, unknown host, unreachable, TLS failure, no answer
inline constexpr int bad_data = 5;     ///< -j and the data is not JSON; standard input unreadable
}  // namespace request_exit

struct SendSettings {
  PublishOptions publish;
  std::string token;
  std::string action;
  /// The data; nullopt (DATA absent or "-") reads standard input.
  std::optional<std::string> data;
  /// -j: the data must be JSON; it is sent as application/json.
  bool json = false;
};

/// Sends the event; the answer's body goes to `out`, messages to `err`.
int send_event(const SendSettings& settings, std::FILE* in, std::FILE* out, std::FILE* err);

}  // namespace es::apps
