// SPDX-License-Identifier: GPL-3.0-or-later
#include "server/store/memory/token_history.hpp"

#include <algorithm>
#include <utility>

namespace es {

PublicationPtr TokenHistory::Ring::push(PublicationPtr e, std::size_t capacity) {
  if (count_ < slots_.size()) {
    slots_[(first_ + count_) % slots_.size()] = std::move(e);
    ++count_;
  } else if (slots_.size() < capacity) {
    // Full but allowed to grow: put the oldest first so the new slot is the
    // newest, and never reserve past `capacity`.
    std::rotate(slots_.begin(), slots_.begin() + static_cast<std::ptrdiff_t>(first_), slots_.end());
    first_ = 0;
    if (slots_.size() == slots_.capacity()) {
      slots_.reserve(std::min(capacity, std::max<std::size_t>(4, 2 * slots_.size())));
    }
    slots_.push_back(std::move(e));
    ++count_;
  } else if (!slots_.empty()) {
    PublicationPtr dropped = std::exchange(slots_[first_], std::move(e));
    first_ = (first_ + 1) % slots_.size();
    return dropped;
  }
  return nullptr;
}

PublicationPtr TokenHistory::Ring::pop_oldest() {
  PublicationPtr dropped = std::move(slots_[first_]); // let go of the bytes now, not when overwritten
  first_ = (first_ + 1) % slots_.size();
  if (--count_ == 0) {
    // A token whose history has all expired may wait long for the next event.
    std::vector<PublicationPtr>().swap(slots_);
    first_ = 0;
  }
  return dropped;
}

TokenHistory::TokenHistory(HistoryLimits limits) : limits_(limits) {}

void TokenHistory::follow(std::string_view token) {
  auto it = tokens_.find(token);
  if (it == tokens_.end()) it = tokens_.try_emplace(std::string(token)).first;
  ++it->second.followers;
}

bool TokenHistory::unfollow(std::string_view token) {
  auto it = tokens_.find(token);
  if (it == tokens_.end() || it->second.followers == 0) return false;
  --it->second.followers;
  free_if_unused(it);
  return true;
}

void TokenHistory::record(std::string_view token, PublicationPtr event) {
  auto it = tokens_.find(token);
  if (!keeps_history()) {
    // Only a subscriber's reconnect asks for the latest id; a token nobody
    // follows is not worth an entry (any POST could create one).
    if (it != tokens_.end()) it->second.latest_id = event->id;
    return;
  }
  if (it == tokens_.end()) it = tokens_.try_emplace(std::string(token)).first;
  Token& t = it->second;
  try {
    t.latest_id = event->id;
    if (limits_.max_bytes > 0) order_.push_back({it->first, event});
    added(*event);
    removed(t.ring.push(std::move(event), limits_.max_events));
  } catch (...) {
    free_if_unused(it);
    throw;
  }
  if (limits_.max_bytes == 0) return;
  while (bytes_ > limits_.max_bytes && evict_oldest()) {
  }
  // Entries of events that left by trimming or expiry pile up behind an old
  // one still kept: sweep them now and then (amortised O(1) per record).
  if (order_.size() > 2 * events_ + 1024) {
    std::deque<Kept> live;
    for (Kept& k : order_)
      if (!k.event.expired()) live.push_back(std::move(k));
    order_.swap(live);
  }
}

void TokenHistory::added(const Publication& e) noexcept {
  bytes_ += e.footprint();
  ++events_;
}

void TokenHistory::removed(const PublicationPtr& e) noexcept {
  if (!e) return;
  bytes_ -= e->footprint();
  --events_;
}

bool TokenHistory::evict_oldest() {
  while (!order_.empty()) {
    Kept oldest = std::move(order_.front());
    order_.pop_front();
    const PublicationPtr event = oldest.event.lock();
    if (!event) continue; // gone already
    const auto it = tokens_.find(oldest.token);
    if (it == tokens_.end() || it->second.ring.empty() || it->second.ring[0] != event) continue;
    removed(it->second.ring.pop_oldest());
    ++evicted_;
    free_if_unused(it);
    return true;
  }
  return false;
}

Replay TokenHistory::events_after(std::string_view token, std::string_view last_id,
                                  HistoryClock::time_point now) const {
  Replay replay;
  if (last_id.empty()) return replay;
  const auto it = tokens_.find(token);
  if (it == tokens_.end()) {
    replay.gap = true;
    return replay;
  }
  const Token& t = it->second;
  // The client saw everything there was; whether that event is still kept
  // does not matter.
  if (last_id == t.latest_id) return replay;

  // An expired event counts as gone whether or not expire() has run yet, so
  // the answer depends only on `now`. Search from the newest: a reconnecting
  // client is usually only a few events behind.
  const Ring& r = t.ring;
  const std::size_t live = expired_prefix(r, now);
  std::size_t from = live;
  replay.gap = true;
  for (std::size_t i = r.size(); i > live; --i) {
    if (r[i - 1]->id == last_id) {
      from = i;
      replay.gap = false;
      break;
    }
  }
  replay.events.reserve(r.size() - from);
  for (std::size_t i = from; i < r.size(); ++i) replay.events.push_back(r[i]);
  return replay;
}

PublicationPtr TokenHistory::latest(std::string_view token, HistoryClock::time_point now) const {
  const auto it = tokens_.find(token);
  if (it == tokens_.end() || it->second.ring.empty()) return nullptr;
  const PublicationPtr& newest = it->second.ring.newest();
  return is_expired(*newest, now) ? nullptr : newest;
}

std::size_t TokenHistory::expire(HistoryClock::time_point now) {
  // Without an age limit nothing expires; without history every token is
  // followed (unfollow frees the rest at once).
  if (!keeps_history() || limits_.max_age <= std::chrono::milliseconds::zero()) return 0;
  std::size_t freed = 0;
  for (auto it = tokens_.begin(); it != tokens_.end();) {
    Ring& r = it->second.ring;
    for (std::size_t n = expired_prefix(r, now); n > 0; --n) removed(r.pop_oldest());
    if (r.empty() && it->second.followers == 0) {
      it = tokens_.erase(it);
      ++freed;
    } else {
      ++it;
    }
  }
  return freed;
}

std::size_t TokenHistory::history_size(std::string_view token) const {
  const auto it = tokens_.find(token);
  return it == tokens_.end() ? 0 : it->second.ring.size();
}

std::size_t TokenHistory::followers(std::string_view token) const {
  const auto it = tokens_.find(token);
  return it == tokens_.end() ? 0 : it->second.followers;
}

bool TokenHistory::is_expired(const Publication& e, HistoryClock::time_point now) const {
  return limits_.max_age > std::chrono::milliseconds::zero() && now - e.at > limits_.max_age;
}

std::size_t TokenHistory::expired_prefix(const Ring& r, HistoryClock::time_point now) const {
  std::size_t n = 0;
  while (n < r.size() && is_expired(*r[n], now)) ++n;
  return n;
}

void TokenHistory::free_if_unused(TokenMap::iterator it) {
  if (it != tokens_.end() && it->second.followers == 0 && it->second.ring.empty()) tokens_.erase(it);
}

}  // namespace es
