// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// Who is subscribed to which token, on one event loop: a pure data
// structure. Two indexes, as redis pubsub keeps them: token -> subscribers
// (a dense vector the fan-out walks) and subscriber -> token. A token's
// entry lives exactly as long as it has subscribers.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace es {

/// Chosen by the loop (it uses the socket descriptor).
using SubscriberId = std::uint64_t;

class Registry {
 public:
  Registry() = default;
  // The subscriber index points into the token map: a copy would point into
  // the original. Moving keeps the map's nodes, so it is safe.
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;
  Registry(Registry&&) = default;
  Registry& operator=(Registry&&) = default;
  ~Registry() = default;

  /// Adds `subscriber` to `token`; true when it is the token's first.
  /// Precondition: it is not subscribed yet (std::logic_error otherwise).
  bool subscribe(SubscriberId subscriber, std::string_view token);

  struct Left {
    bool was_subscribed = false;
    bool was_last = false; ///< the token has no subscriber left (and is freed)
    std::string token;     ///< set when was_last
  };
  /// Removes `subscriber`.
  Left unsubscribe(SubscriberId subscriber);

  /// The token's subscribers, in no particular order. The reference stays
  /// valid until the next subscribe or unsubscribe.
  const std::vector<SubscriberId>& subscribers(std::string_view token) const;
  /// The token `subscriber` is on, or nullptr.
  const std::string* token_of(SubscriberId subscriber) const;

  std::size_t token_count() const noexcept { return tokens_.size(); }
  std::size_t subscriber_count() const noexcept { return token_of_.size(); }
  std::size_t subscriber_count(std::string_view token) const { return subscribers(token).size(); }

 private:
  struct Hash : std::hash<std::string_view> { using is_transparent = void; };
  using TokenMap = std::unordered_map<std::string, std::vector<SubscriberId>, Hash, std::equal_to<>>;
  struct Member {
    /// The token's entry in tokens_: its key is token_of(), and it stays put
    /// when the map rehashes. A pointer, not a copy of the name, so a
    /// subscriber costs no allocation of its own.
    TokenMap::value_type* token;
    std::size_t index; // position in the token's vector
  };

  TokenMap tokens_;
  std::unordered_map<SubscriberId, Member> token_of_;
};

}  // namespace es
