// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// When a client reconnects: a pure function of the policy, the server's
// `retry:` and how many attempts in a row have failed.
//
// WHATWG: the reconnection time starts at a user-agent default and is replaced
// by each valid `retry:` field; after a failed attempt a client may wait
// longer (exponential backoff), which keeps a down server from being hammered.

#include <es/export.hpp>
#include <chrono>
#include <optional>

namespace es {

struct ReconnectPolicy {
  /// Delay used until the server sends `retry:` (eventsource-client -r).
  std::chrono::milliseconds initial{3000};
  /// Each failed attempt in a row multiplies the delay by this (1 = no backoff).
  double backoff = 2.0;
  /// Backoff never waits longer than this (but a server's retry above it is honoured).
  std::chrono::milliseconds max{60000};
  /// After a failure the base delay is at least this, so a server that sent
  /// `retry: 0` and then went down is not hammered in a tight loop.
  std::chrono::milliseconds failure_floor{100};
};

/// The delay before the next attempt. `server_retry` is the last valid
/// `retry:` seen, if any (it wins over policy.initial). `failures` counts
/// attempts in a row that did not reach an open stream: 0 after a stream that
/// was open and then ended, so the delay is the plain reconnection time.
/// Otherwise max(base, failure_floor) * backoff^failures, capped at
/// max(policy.max, base); a backoff below 1 counts as 1, a negative base as 0.
ES_API std::chrono::milliseconds reconnect_delay(const ReconnectPolicy& policy,
                                          std::optional<std::chrono::milliseconds> server_retry,
                                          unsigned failures);

}  // namespace es
