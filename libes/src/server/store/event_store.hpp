// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// The store seam (nchan's nchan_store_t, centrifuge's Broker): where event
// ids, order and history come from. The memory store is one
// implementation; a Redis store (Streams: XADD gives ids, XRANGE replays)
// is the next, without touching the loop.
//
// Asynchronous: every operation completes through its callback, on the
// thread of the loop that called it, possibly before the call returns (the
// memory store always does) and possibly much later (a Redis round trip).
// Nothing here may block. Callers must therefore not assume the callback
// has run when the call returns, and must check that what the callback
// refers to (a connection) still exists when it runs.
//
// Positions and epochs: each publication carries its StorePosition, so a
// subscriber that receives a replay and live events at once can drop the
// overlap; a Replay carries the store's epoch, which changes when history
// is lost (a memory store restarted, a Redis stream deleted), the
// cross-server form of `event: gap`.

#include "server/pubsub/publication.hpp"

#include <es/event.hpp>
#include <es/result.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace es {

/// What a subscriber resuming after `last_id` should be sent.
struct Replay {
  /// The id is not in history (fell out, or from before a restart): events
  /// may have been missed. `events` then holds all the history there is.
  bool gap = false;
  std::vector<PublicationPtr> events;
  /// The store's epoch when the replay was read.
  std::string epoch;
};

/// What a store holds, for /stats and /metrics.
struct StoreStats {
  std::size_t tokens = 0;       ///< tokens it holds something for (history, or followed)
  std::size_t bytes = 0;        ///< bytes of history kept in this process
  std::uint64_t evicted = 0;    ///< events dropped to stay within the memory budget
};

class EventStore {
 public:
  using AppendDone = std::function<void(Result<PublicationPtr>)>;
  using ReplayDone = std::function<void(Replay)>;
  using LatestDone = std::function<void(PublicationPtr)>;

  virtual ~EventStore() = default;

  /// True when events are given ids (and Last-Event-ID means something).
  virtual bool assigns_ids() const = 0;
  /// True when events are kept for replay even with nobody subscribed.
  virtual bool keeps_history() const = 0;
  /// Changes whenever the store's history stops being continuous.
  virtual const std::string& epoch() const = 0;

  /// Gives `event` its id (when ids are on) and its position, keeps it as
  /// the token's latest (and in its history), and completes with the framed
  /// publication, or a failure (the store is unreachable, the event cannot
  /// be framed). The event has already passed Framer::invalid_reason().
  virtual void append(std::string_view token, Event event, AppendDone done) = 0;
  /// The events after `last_id` on `token` (an empty `last_id` asks for nothing).
  virtual void read_after(std::string_view token, std::string_view last_id, ReplayDone done) = 0;
  /// The token's newest kept event, or null.
  virtual void latest(std::string_view token, LatestDone done) = 0;

  /// The server has subscribers on `token` (from the first until the last
  /// leaves): a Redis store starts following the token's stream; the memory
  /// store keeps the token's latest id even without history.
  virtual void follow(std::string_view token) = 0;
  virtual void unfollow(std::string_view token) = 0;

  /// Called about once a second: drops what has aged out.
  virtual void housekeeping() = 0;
  virtual StoreStats stats() const = 0;
};

}  // namespace es
