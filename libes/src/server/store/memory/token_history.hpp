// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// Each token's recent events, for the memory store: a pure data structure
// (no sockets, threads or clock: time is passed in).
//
// History is a ring per token bounded by count and by age, and all rings
// together by a byte budget: past it the oldest events of any token go
// first (a resume from one of them gets `event: gap`). A token is kept
// while it has history or followers (the server's subscribers): with
// history off only a followed token's latest id is kept, so that a client
// resuming from it is told it is up to date rather than of a gap, and a
// POST to a token nobody follows costs nothing.

#include "server/store/event_store.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace es {

using HistoryClock = StoreClock;

struct HistoryLimits {
  /// Events kept per token; 0 keeps none (no replay, no latest value).
  std::size_t max_events = 0;
  /// Events older than this are dropped; 0 means no age limit.
  std::chrono::milliseconds max_age{0};
  /// Bytes kept across all tokens (Publication::footprint); 0 means no bound.
  std::size_t max_bytes = 0;
};

class TokenHistory {
 public:
  explicit TokenHistory(HistoryLimits limits = {});
  TokenHistory(const TokenHistory&) = delete;
  TokenHistory& operator=(const TokenHistory&) = delete;
  TokenHistory(TokenHistory&&) = default;
  TokenHistory& operator=(TokenHistory&&) = default;
  ~TokenHistory() = default;

  /// One more follower of `token` (a subscriber): keeps its entry.
  void follow(std::string_view token);
  /// One follower fewer; frees the entry when nothing else keeps it.
  /// False when `token` had no follower (a caller's bug, ignored).
  bool unfollow(std::string_view token);

  /// Remembers `event` as the token's latest; keeps it in history when
  /// history is on (trimming the oldest past max_events). With history off
  /// only the latest id is kept, and only while the token is followed.
  void record(std::string_view token, PublicationPtr event);

  /// Events of `token` after the one with id `last_id`, not older than
  /// max_age at `now`. An empty `last_id` asks for nothing. No gap when
  /// `last_id` is the token's latest id, even if that event has expired.
  /// Otherwise an event older than max_age counts as gone, whether or not
  /// expire() has dropped it yet: the answer depends only on `now`.
  Replay events_after(std::string_view token, std::string_view last_id, HistoryClock::time_point now) const;
  /// The token's newest event still in history at `now`, or null (the
  /// "latest value" of tornadose's DataStore).
  PublicationPtr latest(std::string_view token, HistoryClock::time_point now) const;

  /// Drops events older than max_age at `now` and frees tokens left with
  /// neither followers nor history. Returns the number of tokens freed.
  /// Walks every token (when there is an age limit): call it now and then,
  /// not per event.
  std::size_t expire(HistoryClock::time_point now);

  bool keeps_history() const noexcept { return limits_.max_events > 0; }
  /// Bytes kept now (Publication::footprint of every event held).
  std::size_t bytes() const noexcept { return bytes_; }
  /// Events dropped to stay within max_bytes, since the start.
  std::uint64_t evicted() const noexcept { return evicted_; }
  const HistoryLimits& limits() const noexcept { return limits_; }
  std::size_t token_count() const noexcept { return tokens_.size(); }
  std::size_t history_size(std::string_view token) const;
  std::size_t followers(std::string_view token) const;

 private:
  /// A token's history, oldest first: a ring on a vector that grows to at
  /// most max_events and then overwrites its oldest slot. (An empty
  /// std::deque already allocates over 500 bytes; most tokens have no
  /// history, and an empty vector allocates nothing.)
  class Ring {
   public:
    std::size_t size() const noexcept { return count_; }
    bool empty() const noexcept { return count_ == 0; }
    /// i = 0 is the oldest.
    const PublicationPtr& operator[](std::size_t i) const { return slots_[(first_ + i) % slots_.size()]; }
    const PublicationPtr& newest() const { return (*this)[count_ - 1]; }
    /// Appends `e`, dropping the oldest when `capacity` are held already;
    /// returns the dropped one (or null).
    PublicationPtr push(PublicationPtr e, std::size_t capacity);
    PublicationPtr pop_oldest();

   private:
    std::vector<PublicationPtr> slots_;
    std::size_t first_ = 0;
    std::size_t count_ = 0;
  };
  struct Token {
    Ring ring;
    std::string latest_id;
    std::size_t followers = 0;
  };
  struct Hash : std::hash<std::string_view> { using is_transparent = void; };
  using TokenMap = std::unordered_map<std::string, Token, Hash, std::equal_to<>>;

  /// Keeps the books when a ring gains or loses `e`.
  void added(const Publication& e) noexcept;
  void removed(const PublicationPtr& e) noexcept;
  /// Drops the oldest kept event of any token; false when none is left.
  bool evict_oldest();
  bool is_expired(const Publication& e, HistoryClock::time_point now) const;
  /// How many of the oldest events in `r` have expired at `now` (history is
  /// in publication order, so they are a prefix).
  std::size_t expired_prefix(const Ring& r, HistoryClock::time_point now) const;
  void free_if_unused(TokenMap::iterator it);

  HistoryLimits limits_;
  TokenMap tokens_;
  std::size_t bytes_ = 0;
  std::size_t events_ = 0;
  std::uint64_t evicted_ = 0;
  /// Every event kept, in publication order (all tokens): what the byte
  /// budget evicts first. Entries whose event has left its ring (trimmed,
  /// expired) are skipped when reached and swept when they pile up.
  struct Kept {
    std::string token;
    std::weak_ptr<const Publication> event;
  };
  std::deque<Kept> order_;
};

}  // namespace es
