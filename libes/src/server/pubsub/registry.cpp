// SPDX-License-Identifier: GPL-3.0-or-later
#include "server/pubsub/registry.hpp"

#include <stdexcept>
#include <utility>

namespace es {

bool Registry::subscribe(SubscriberId subscriber, std::string_view token) {
  if (token_of_.contains(subscriber)) {
    throw std::logic_error("es::Registry::subscribe: subscriber " + std::to_string(subscriber) +
                           " is already subscribed");
  }
  auto it = tokens_.find(token);
  const bool first = it == tokens_.end();
  if (first) it = tokens_.try_emplace(std::string(token)).first;
  std::vector<SubscriberId>& subs = it->second;
  try {
    subs.push_back(subscriber);
    token_of_.emplace(subscriber, Member{&*it, subs.size() - 1});
  } catch (...) {
    // Out of memory: leave both indexes as they were.
    if (!subs.empty() && subs.back() == subscriber) subs.pop_back();
    if (subs.empty()) tokens_.erase(it);
    throw;
  }
  return first;
}

Registry::Left Registry::unsubscribe(SubscriberId subscriber) {
  Left left;
  const auto member = token_of_.find(subscriber);
  if (member == token_of_.end()) return left;
  left.was_subscribed = true;
  TokenMap::value_type* const entry = member->second.token;
  const std::size_t index = member->second.index;
  token_of_.erase(member);

  // Swap-remove: the last subscriber takes the leaver's place, so removal is
  // O(1) and the fan-out vector stays dense.
  std::vector<SubscriberId>& subs = entry->second;
  const SubscriberId moved = subs.back();
  subs[index] = moved;
  subs.pop_back();
  if (moved != subscriber) token_of_.find(moved)->second.index = index;

  if (subs.empty()) {
    left.was_last = true;
    left.token = entry->first;
    tokens_.erase(tokens_.find(entry->first));
  }
  return left;
}

const std::vector<SubscriberId>& Registry::subscribers(std::string_view token) const {
  static const std::vector<SubscriberId> none;
  const auto it = tokens_.find(token);
  return it == tokens_.end() ? none : it->second;
}

const std::string* Registry::token_of(SubscriberId subscriber) const {
  const auto member = token_of_.find(subscriber);
  return member == token_of_.end() ? nullptr : &member->second.token->first;
}

}  // namespace es
