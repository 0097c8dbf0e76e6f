// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// The token hub: who is subscribed to which token, and each token's recent
// events. A pure data structure (no sockets, threads or clock: time is passed
// in); the server drives it under its own lock.
//
// Two indexes, as redis pubsub keeps them: token -> subscribers (a vector, the
// fan-out loop walks it) and subscriber -> token. The last subscriber leaving
// frees the token unless its history keeps it; history is a ring bounded by
// count and by age.

#include <es/serializer.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace es {

/// Chosen by the server (eventsource-server uses the socket descriptor).
using SubscriberId = std::uint64_t;
using HubClock = std::chrono::steady_clock;

struct HistoryLimits {
  /// Events kept per token; 0 keeps none (no replay, no latest value).
  std::size_t max_events = 0;
  /// Events older than this are dropped; 0 means no age limit.
  std::chrono::milliseconds max_age{0};
};

struct StoredEvent {
  std::string id;          ///< as sent; the key of Last-Event-ID lookups
  SharedBytes bytes;       ///< the serialized event
  HubClock::time_point at; ///< when it was published
};

/// What a subscriber reconnecting with Last-Event-ID should be sent.
struct Replay {
  /// The id is not in history (fell out, or from before a restart): events
  /// may have been missed. `events` then holds all the history there is.
  bool gap = false;
  std::vector<SharedBytes> events;
};

class Hub {
 public:
  explicit Hub(HistoryLimits limits = {});
  // The subscriber index points into the token map: a copy would point into
  // the original. Moving keeps the map's nodes, so it is safe.
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;
  Hub(Hub&&) = default;
  Hub& operator=(Hub&&) = default;
  ~Hub() = default;

  /// Adds `subscriber` to `token`. Precondition: it is not subscribed yet
  /// (std::logic_error otherwise).
  void subscribe(SubscriberId subscriber, std::string_view token);
  /// Removes `subscriber`; false if it was not subscribed. Frees its token
  /// when it was the last one and the token has no history.
  bool unsubscribe(SubscriberId subscriber);

  /// The token's subscribers, in no particular order. The reference stays
  /// valid until the next subscribe, unsubscribe or expire.
  const std::vector<SubscriberId>& subscribers(std::string_view token) const;
  /// The token `subscriber` is on, or nullptr.
  const std::string* token_of(SubscriberId subscriber) const;

  /// Remembers `event` as the token's latest; keeps it in history when
  /// history is on (trimming the oldest past max_events). With history off
  /// only the latest id is kept, and only while the token has subscribers.
  void record(std::string_view token, StoredEvent event);

  /// Events of `token` after the one with id `last_id`, not older than
  /// max_age at `now`. An empty `last_id` asks for nothing. No gap when
  /// `last_id` is the token's latest id, even if that event has expired.
  /// Otherwise an event older than max_age counts as gone, whether or not
  /// expire() has dropped it yet: the answer depends only on `now`.
  Replay events_after(std::string_view token, std::string_view last_id, HubClock::time_point now) const;
  /// The token's newest event still in history at `now`, or nullptr (the
  /// "latest value" of tornadose's DataStore).
  const StoredEvent* latest(std::string_view token, HubClock::time_point now) const;

  /// Drops events older than max_age at `now` and frees tokens left with
  /// neither subscribers nor history. Returns the number of tokens freed.
  /// Walks every token (when there is an age limit): call it now and then,
  /// not per event.
  std::size_t expire(HubClock::time_point now);

  bool keeps_history() const noexcept { return limits_.max_events > 0; }
  const HistoryLimits& limits() const noexcept { return limits_; }
  std::size_t token_count() const noexcept { return tokens_.size(); }
  std::size_t subscriber_count() const noexcept { return token_of_.size(); }
  std::size_t subscriber_count(std::string_view token) const;
  std::size_t history_size(std::string_view token) const;

 private:
  /// A token's history, oldest first: a ring on a vector that grows to at
  /// most max_events and then overwrites its oldest slot. (An empty
  /// std::deque already allocates over 500 bytes; most tokens have no
  /// history, and an empty vector allocates nothing.)
  class History {
   public:
    std::size_t size() const noexcept { return count_; }
    bool empty() const noexcept { return count_ == 0; }
    /// i = 0 is the oldest.
    const StoredEvent& operator[](std::size_t i) const { return slots_[(first_ + i) % slots_.size()]; }
    const StoredEvent& newest() const { return (*this)[count_ - 1]; }
    /// Appends `e`, dropping the oldest when `capacity` are held already.
    void push(StoredEvent e, std::size_t capacity);
    void pop_oldest();

   private:
    std::vector<StoredEvent> slots_;
    std::size_t first_ = 0;
    std::size_t count_ = 0;
  };
  struct Token {
    std::vector<SubscriberId> subscribers;
    History history;
    std::string latest_id;
  };
  struct Hash : std::hash<std::string_view> { using is_transparent = void; };
  using TokenMap = std::unordered_map<std::string, Token, Hash, std::equal_to<>>;
  struct Member {
    /// The token's entry in tokens_: its key is token_of(), and it stays put
    /// when the map rehashes. A pointer, not a copy of the name, so a
    /// subscriber costs no allocation of its own.
    TokenMap::value_type* token;
    std::size_t index; // position in Token::subscribers
  };

  bool is_expired(const StoredEvent& e, HubClock::time_point now) const;
  /// How many of the oldest events in `h` have expired at `now` (history is
  /// in publication order, so they are a prefix).
  std::size_t expired_prefix(const History& h, HubClock::time_point now) const;
  void free_if_unused(TokenMap::iterator it);

  HistoryLimits limits_;
  TokenMap tokens_;
  std::unordered_map<SubscriberId, Member> token_of_;
};

}  // namespace es
