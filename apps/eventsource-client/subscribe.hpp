// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// What eventsource-client does once its command line is read: subscribe,
// print events, report failures, and decide the exit status.

#include <es/client.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace es::apps {

/// Exit statuses of eventsource-client (man/eventsource-client.1, EXIT STATUS).
namespace client_exit {
inline constexpr int ok = 0;            ///< the server's close event, or --count events
inline constexpr int refused = 1;       ///< the server refused the stream (status, 204, type)
inline constexpr int usage = 2;         ///< bad command line
inline constexpr int timeout = 3;       ///< --timeout passed first
inline constexpr int output_closed = 141;  ///< standard output went away (128 + SIGPIPE)
// Interrupted by SIGINT or SIGTERM: 128 + the signal number (130, 143).
}  // namespace client_exit

enum class OutputMode { people, json, data_only };

struct SubscribeSettings {
  ClientOptions client;
  OutputMode output = OutputMode::people;
  /// Exit 0 after this many events; 0 = no limit.
  std::uint64_t count = 0;
  /// Give up (exit 3) after this long; nullopt = never.
  std::optional<std::chrono::milliseconds> timeout;
  /// -d: log every attempt, delay and comment on stderr.
  bool debug = false;
  /// The URL was built from -H/-P (an eventsource-server is expected there),
  /// so a refused connection can suggest starting one.
  bool hint_server = false;
};

/// Runs until the server's close event, --count events, a fatal answer (unless
/// keep_going), the timeout, or SIGINT/SIGTERM; returns the exit status.
/// Events go to standard output, failures to standard error, each kind of
/// failure once until a stream opens again (every time with `debug`).
/// Must be called before any other thread exists (it blocks SIGINT and
/// SIGTERM so that it can wait for them).
int subscribe(const SubscribeSettings& settings);

}  // namespace es::apps
