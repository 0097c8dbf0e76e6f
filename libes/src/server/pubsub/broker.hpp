// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// The one place that orders events: every publish goes through the broker,
// which checks it, has the store give it its id and position, and hands the
// framed publication to every event loop that has subscribers of its token
// (PublicationSink). Ids are therefore assigned in one order, the order in
// which every stream of a token receives them.
//
// It runs on one thread, the first event loop's (the home loop); the other
// loops send it their publishes, follows and store requests through its
// mailbox and receive its publications through theirs (EventLoop's remote
// sink). It also counts, per token and loop, the subscribers, so that a
// publication goes only to loops that have some, a publisher hears how
// many there are on every loop, and the store follows exactly the tokens
// served.

#include "server/pubsub/publication.hpp"
#include "server/store/event_store.hpp"

#include <es/server.hpp>

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace es {

/// An event loop, as the broker sees it.
class PublicationSink {
 public:
  /// Queues `publication` to the loop's subscribers of `token` (then ends
  /// their streams with `close_after`), now or (another loop) soon.
  virtual void deliver(std::string_view token, const PublicationPtr& publication, bool close_after) = 0;

 protected:
  ~PublicationSink() = default;
};

class Broker {
 public:
  using Done = std::function<void(PublishResult)>;

  Broker(EventStore& store, const Framer& framer) : store_(store), framer_(framer) {}
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  /// Loops attach in the order of their index.
  void attach(PublicationSink& sink) { sinks_.push_back(&sink); }

  /// Publishes `event` to `token`; `done` gets the answer once the store has
  /// taken it and every loop has queued it (maybe before this returns).
  void publish(std::string_view token, Event event, bool close_after, Done done);
  /// Delivers what a store that delivers by itself read (EventStore::LiveSink).
  void deliver_live(std::string_view token, const PublicationPtr& publication, bool close_after);
  /// From now on every publish is answered not_running.
  void stop() noexcept { stopping_ = true; }

  /// Loop `loop` has one subscriber of `token` more / less.
  void follow(std::string_view token, std::size_t loop);
  void unfollow(std::string_view token, std::size_t loop);
  bool followed(std::string_view token) const { return following_.find(token) != following_.end(); }
  /// Subscribers of `token` on every loop.
  std::size_t subscribers_of(std::string_view token) const;
  std::size_t followed_tokens() const noexcept { return following_.size(); }

  EventStore& store() noexcept { return store_; }
  const Framer& framer() const noexcept { return framer_; }
  std::uint64_t published() const noexcept { return published_; }
  std::uint64_t delivered_live() const noexcept { return delivered_live_; }

 private:
  EventStore& store_;
  const Framer& framer_;
  std::vector<PublicationSink*> sinks_;
  struct Hash : std::hash<std::string_view> { using is_transparent = void; };
  struct Following {
    std::vector<std::uint32_t> per_loop; // subscribers on each loop
    std::size_t total = 0;
  };
  std::unordered_map<std::string, Following, Hash, std::equal_to<>> following_;
  void deliver(std::string_view token, const PublicationPtr& publication, bool close_after);
  std::uint64_t published_ = 0;
  std::uint64_t delivered_live_ = 0;
  bool stopping_ = false;
};

}  // namespace es
