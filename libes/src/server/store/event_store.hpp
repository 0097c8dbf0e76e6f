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

#include "net/reactor.hpp"
#include "server/pubsub/publication.hpp"

#include <es/event.hpp>
#include <es/result.hpp>
#include <es/server.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
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
  /// Where `last_id` itself sits, when the store knows (Redis: the id is
  /// the position): live publications up to it are not sent again.
  std::optional<StorePosition> after;
};

/// What a store holds, for /stats and /metrics.
struct StoreStats {
  std::size_t tokens = 0;       ///< tokens it holds something for (history, or followed)
  std::size_t bytes = 0;        ///< bytes of history kept in this process
  std::uint64_t evicted = 0;    ///< events dropped to stay within the memory budget
  bool redis = false;           ///< the fields below mean something
  bool redis_connected = false;
  std::uint64_t redis_reconnects = 0;
  std::uint64_t skipped_entries = 0; ///< entries and messages from outside that were not deliverable
};

/// The answer to an append: the publication (its id and position), or why not.
struct Appended {
  PublicationPtr publication; ///< null on failure
  PublishStatus failure = PublishStatus::published;
  std::string message;
};

class EventStore {
 public:
  using AppendDone = std::function<void(Appended)>;
  using ReplayDone = std::function<void(Replay)>;
  using LatestDone = std::function<void(PublicationPtr)>;
  /// Where a store that delivers by itself sends each event to its
  /// token's subscribers (then ends their streams with `close_after`).
  using LiveSink = std::function<void(std::string_view token, const PublicationPtr&, bool close_after)>;

  virtual ~EventStore() = default;

  /// On the loop's thread, before it serves: a store that talks to the
  /// network does it through `reactor`; events it reads go to `sink`.
  virtual void start(Reactor& reactor, LiveSink sink) { (void)reactor, (void)sink; }
  /// On the loop's thread, when it stops: pending work is answered or dropped.
  virtual void stop() {}
  /// False: the broker delivers what append() accepted. True: the store
  /// delivers every event (its own publishes too) through the LiveSink, in
  /// the order it holds them (Redis: whoever published them).
  virtual bool delivers_live() const { return false; }
  /// Why the store cannot serve now ("" when it can). Any thread.
  virtual std::string unhealthy_reason() const { return {}; }

  /// True when events are given ids (and Last-Event-ID means something).
  virtual bool assigns_ids() const = 0;
  /// True when events are kept for replay even with nobody subscribed.
  virtual bool keeps_history() const = 0;
  /// Changes whenever the store's history stops being continuous.
  virtual const std::string& epoch() const = 0;

  /// Gives `event` its id (when ids are on) and its position, keeps it as
  /// the token's latest (and in its history), and completes with the framed
  /// publication, or a failure (the store is unreachable: not_running; the
  /// event cannot be framed: bad_data). The event has already passed Framer::invalid_reason().
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
  /// Runs `ready` once every event appended to the followed `token` from
  /// now on will be delivered live (a new stream's head waits for it, so
  /// that whatever is published after a client saw it reaches it). The
  /// memory store delivers what it appends, so at once; Redis once the
  /// token's cursor is known.
  virtual void when_following(std::string_view token, std::function<void()> ready) { (void)token, ready(); }

  /// Called about once a second: drops what has aged out.
  virtual void housekeeping() = 0;
  virtual StoreStats stats() const = 0;
};

}  // namespace es
