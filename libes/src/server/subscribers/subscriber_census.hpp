// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// How many subscribers the server has, over every event loop: what
// --max-subscribers and --exclusive count. Each loop's Registry knows only
// its own; this is shared, behind a mutex (a subscription is rare next to
// an event), and admitting is one atomic check-and-count, so that two
// loops cannot both admit the last place or the one subscriber of an
// exclusive token.

#include "server/subscribers/subscribe_policy.hpp"

#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace es {

class SubscriberCensus {
 public:
  SubscriberCensus(bool per_token, std::size_t max_total) : per_token_(per_token), max_total_(max_total) {}

  SubscriberCounts counts(std::string_view token) const {
    std::lock_guard lock(mutex_);
    return {on_token(token), total_};
  }

  /// Subscribers over every loop.
  std::size_t total() const {
    std::lock_guard lock(mutex_);
    return total_;
  }

  /// Counts one subscriber of `token`, or says why not (423, 503).
  std::optional<Refusal> admit(std::string_view token) {
    std::lock_guard lock(mutex_);
    if (per_token_ && on_token(token) > 0) return Refusal{423, "Token is already in use"};
    if (max_total_ > 0 && total_ >= max_total_) return Refusal{503, "Too many subscribers"};
    ++total_;
    if (per_token_) ++tokens_[std::string(token)];
    return std::nullopt;
  }

  void leave(std::string_view token) {
    std::lock_guard lock(mutex_);
    if (total_ > 0) --total_;
    if (!per_token_) return;
    const auto it = tokens_.find(token);
    if (it != tokens_.end() && --it->second == 0) tokens_.erase(it);
  }

 private:
  std::size_t on_token(std::string_view token) const {
    const auto it = tokens_.find(token);
    return it == tokens_.end() ? 0 : it->second;
  }

  struct Hash : std::hash<std::string_view> { using is_transparent = void; };
  const bool per_token_;
  const std::size_t max_total_;
  mutable std::mutex mutex_;
  std::size_t total_ = 0;
  std::unordered_map<std::string, std::size_t, Hash, std::equal_to<>> tokens_;
};

}  // namespace es
