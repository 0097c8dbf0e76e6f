// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// A test helper for programs that embed libes (the role of
// tornado-eventsource's test client, which only ever read the first event):
// subscribe, gather events, return them.
//
//   auto got = es::collect("http://127.0.0.1:" + port + "/poll/t", 3, 5s);
//   CHECK(got.events.size() == 3);
//
// It is an es::Client underneath, so it reconnects (with Last-Event-ID) when
// a stream ends before enough events came.

#include <es/export.hpp>
#include <es/client.hpp>
#include <es/event.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace es {

struct Collected {
  /// In arrival order; at most the count asked for.
  std::vector<Event> events;
  /// The fatal error that ended collection early, or else the last error seen
  /// (a refused connection, a lost stream) when the deadline came first.
  std::optional<ClientError> error;
  /// The deadline passed before the client stopped (always, with count 0
  /// and no fatal error).
  bool timed_out = false;
};

/// Connects to `url` and returns once `count` events have come (0: no limit,
/// gather until the timeout), a fatal error stopped the client, or `timeout`
/// has passed. Throws std::invalid_argument for a bad URL.
ES_API Collected collect(const std::string& url, std::size_t count, std::chrono::milliseconds timeout);
/// The same with every client option (headers, auth, Last-Event-ID, ...).
ES_API Collected collect(ClientOptions options, std::size_t count, std::chrono::milliseconds timeout);

}  // namespace es
