// SPDX-License-Identifier: GPL-3.0-or-later
#include <es/hub.hpp>

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace es {

void Hub::History::push(StoredEvent e, std::size_t capacity) {
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
    slots_[first_] = std::move(e);
    first_ = (first_ + 1) % slots_.size();
  }
}

void Hub::History::pop_oldest() {
  slots_[first_] = StoredEvent{}; // let go of the bytes now, not when overwritten
  first_ = (first_ + 1) % slots_.size();
  if (--count_ == 0) {
    // A token whose history has all expired may wait long for the next event.
    std::vector<StoredEvent>().swap(slots_);
    first_ = 0;
  }
}

Hub::Hub(HistoryLimits limits) : limits_(limits) {}

void Hub::subscribe(SubscriberId subscriber, std::string_view token) {
  if (token_of_.contains(subscriber)) {
    throw std::logic_error("es::Hub::subscribe: subscriber " + std::to_string(subscriber) + " is already subscribed");
  }
  auto it = tokens_.find(token);
  if (it == tokens_.end()) it = tokens_.try_emplace(std::string(token)).first;
  Token& t = it->second;
  try {
    t.subscribers.push_back(subscriber);
    token_of_.emplace(subscriber, Member{&*it, t.subscribers.size() - 1});
  } catch (...) {
    // Out of memory: leave both indexes as they were.
    if (!t.subscribers.empty() && t.subscribers.back() == subscriber) t.subscribers.pop_back();
    free_if_unused(it);
    throw;
  }
}

bool Hub::unsubscribe(SubscriberId subscriber) {
  const auto member = token_of_.find(subscriber);
  if (member == token_of_.end()) return false;
  TokenMap::value_type* const entry = member->second.token;
  const std::size_t index = member->second.index;
  token_of_.erase(member);

  // Swap-remove: the last subscriber takes the leaver's place, so removal is
  // O(1) and the fan-out vector stays dense.
  std::vector<SubscriberId>& subs = entry->second.subscribers;
  const SubscriberId moved = subs.back();
  subs[index] = moved;
  subs.pop_back();
  if (moved != subscriber) token_of_.find(moved)->second.index = index;

  if (subs.empty()) free_if_unused(tokens_.find(entry->first));
  return true;
}

const std::vector<SubscriberId>& Hub::subscribers(std::string_view token) const {
  static const std::vector<SubscriberId> none;
  const auto it = tokens_.find(token);
  return it == tokens_.end() ? none : it->second.subscribers;
}

const std::string* Hub::token_of(SubscriberId subscriber) const {
  const auto member = token_of_.find(subscriber);
  return member == token_of_.end() ? nullptr : &member->second.token->first;
}

void Hub::record(std::string_view token, StoredEvent event) {
  auto it = tokens_.find(token);
  if (!keeps_history()) {
    // Only a subscriber's reconnect asks for the latest id; a token nobody
    // is on is not worth an entry (any POST could create one).
    if (it != tokens_.end()) it->second.latest_id = std::move(event.id);
    return;
  }
  if (it == tokens_.end()) it = tokens_.try_emplace(std::string(token)).first;
  Token& t = it->second;
  try {
    t.latest_id = event.id;
    t.history.push(std::move(event), limits_.max_events);
  } catch (...) {
    free_if_unused(it);
    throw;
  }
}

Replay Hub::events_after(std::string_view token, std::string_view last_id, HubClock::time_point now) const {
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
  const History& h = t.history;
  const std::size_t live = expired_prefix(h, now);
  std::size_t from = live;
  replay.gap = true;
  for (std::size_t i = h.size(); i > live; --i) {
    if (h[i - 1].id == last_id) {
      from = i;
      replay.gap = false;
      break;
    }
  }
  replay.events.reserve(h.size() - from);
  for (std::size_t i = from; i < h.size(); ++i) replay.events.push_back(h[i].bytes);
  return replay;
}

const StoredEvent* Hub::latest(std::string_view token, HubClock::time_point now) const {
  const auto it = tokens_.find(token);
  if (it == tokens_.end() || it->second.history.empty()) return nullptr;
  const StoredEvent& newest = it->second.history.newest();
  return is_expired(newest, now) ? nullptr : &newest;
}

std::size_t Hub::expire(HubClock::time_point now) {
  // Without an age limit nothing expires; without history every token has
  // subscribers (unsubscribe frees the rest at once).
  if (!keeps_history() || limits_.max_age <= std::chrono::milliseconds::zero()) return 0;
  std::size_t freed = 0;
  for (auto it = tokens_.begin(); it != tokens_.end();) {
    History& h = it->second.history;
    for (std::size_t n = expired_prefix(h, now); n > 0; --n) h.pop_oldest();
    if (h.empty() && it->second.subscribers.empty()) {
      it = tokens_.erase(it);
      ++freed;
    } else {
      ++it;
    }
  }
  return freed;
}

std::size_t Hub::subscriber_count(std::string_view token) const {
  const auto it = tokens_.find(token);
  return it == tokens_.end() ? 0 : it->second.subscribers.size();
}

std::size_t Hub::history_size(std::string_view token) const {
  const auto it = tokens_.find(token);
  return it == tokens_.end() ? 0 : it->second.history.size();
}

bool Hub::is_expired(const StoredEvent& e, HubClock::time_point now) const {
  return limits_.max_age > std::chrono::milliseconds::zero() && now - e.at > limits_.max_age;
}

std::size_t Hub::expired_prefix(const History& h, HubClock::time_point now) const {
  std::size_t n = 0;
  while (n < h.size() && is_expired(h[n], now)) ++n;
  return n;
}

void Hub::free_if_unused(TokenMap::iterator it) {
  if (it != tokens_.end() && it->second.subscribers.empty() && it->second.history.empty()) tokens_.erase(it);
}

}  // namespace es
