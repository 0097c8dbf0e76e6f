// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// One published event as the server passes it around after the store has
// accepted it: its id, its place in the store's order, when it was
// published, and its wire form for every subscriber kind, framed once and
// shared (immutable) by every subscriber, every replay and the history.

#include "server/subscribers/subscriber_kind.hpp"

#include <es/serializer.hpp>

#include <array>
#include <chrono>
#include <compare>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace es {

using StoreClock = std::chrono::steady_clock;

/// Where an event sits in its store's order. The memory store counts
/// {0, n}; a Redis stream entry id "ms-seq" is {ms, seq}. Comparing two
/// positions of one token tells which event came first, so that a replay
/// and live delivery can be joined without overlap.
struct StorePosition {
  std::uint64_t major = 0;
  std::uint64_t minor = 0;
  friend auto operator<=>(const StorePosition&, const StorePosition&) = default;
};

struct Publication {
  std::string id; ///< as sent in the id field; "" without ids
  StorePosition position;
  StoreClock::time_point at; ///< when the store accepted it
  std::array<SharedBytes, max_subscriber_kinds> frames;

  /// The bytes for subscribers of kind `kind` (its index in the server's kinds).
  const SharedBytes& framed_for(std::size_t kind) const noexcept { return frames[kind]; }
  /// About how much memory keeping it costs (the history's byte budget).
  std::size_t footprint() const noexcept {
    constexpr std::size_t per_allocation = 48; // control block and string object of a shared buffer
    std::size_t bytes = sizeof(Publication) + per_allocation + id.capacity();
    for (const SharedBytes& f : frames)
      if (f) bytes += f->capacity() + per_allocation;
    return bytes;
  }
};
using PublicationPtr = std::shared_ptr<const Publication>;

/// Frames events for every kind a server offers (once each).
class Framer {
 public:
  explicit Framer(std::vector<const SubscriberKind*> kinds) : kinds_(std::move(kinds)) {}

  /// Why no kind can take `event`, or "".
  std::string invalid_reason(const Event& event) const;
  /// The publication of `event` (id set), or why it cannot be framed.
  Result<PublicationPtr> frame(const Event& event, StorePosition position, StoreClock::time_point at) const;
  const std::vector<const SubscriberKind*>& kinds() const noexcept { return kinds_; }

 private:
  std::vector<const SubscriberKind*> kinds_;
};

}  // namespace es
