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
#include <deque>
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

  /// Adds `subscriber` to `token`. Precondition: it is not subscribed yet.
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
  Replay events_after(std::string_view token, std::string_view last_id, HubClock::time_point now) const;
  /// The token's newest event still in history at `now`, or nullptr (the
  /// "latest value" of tornadose's DataStore).
  const StoredEvent* latest(std::string_view token, HubClock::time_point now) const;

  /// Drops events older than max_age at `now` and frees tokens left with
  /// neither subscribers nor history. Returns the number of tokens freed.
  std::size_t expire(HubClock::time_point now);

  bool keeps_history() const noexcept { return limits_.max_events > 0; }
  const HistoryLimits& limits() const noexcept { return limits_; }
  std::size_t token_count() const noexcept { return tokens_.size(); }
  std::size_t subscriber_count() const noexcept { return token_of_.size(); }
  std::size_t subscriber_count(std::string_view token) const;
  std::size_t history_size(std::string_view token) const;

 private:
  struct Token {
    std::vector<SubscriberId> subscribers;
    std::deque<StoredEvent> history;
    std::string latest_id;
  };
  struct Member {
    std::string token;
    std::size_t index; // position in Token::subscribers
  };
  struct Hash : std::hash<std::string_view> { using is_transparent = void; };

  bool is_expired(const StoredEvent& e, HubClock::time_point now) const;
  void free_if_unused(std::unordered_map<std::string, Token, Hash, std::equal_to<>>::iterator it);

  HistoryLimits limits_;
  std::unordered_map<std::string, Token, Hash, std::equal_to<>> tokens_;
  std::unordered_map<SubscriberId, Member> token_of_;
};

}  // namespace es
