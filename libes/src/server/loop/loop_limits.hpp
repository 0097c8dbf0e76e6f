// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// The event loop's fixed limits and timings, in one place.

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace es::loop_limits {

using namespace std::chrono_literals;

inline constexpr std::size_t max_head_bytes = 32 * 1024; ///< answered 431 above
inline constexpr std::size_t scratch_bytes = 64 * 1024;
inline constexpr int accept_burst = 256;  ///< accepts per turn, so a connect storm cannot starve streams
inline constexpr int reads_per_turn = 4;  ///< per connection, for the same reason
inline constexpr std::size_t iovecs_per_write = 64;
inline constexpr auto housekeeping_interval = 1s;
inline constexpr auto linger_time = 2s;      ///< after our FIN, wait this long for the peer's
inline constexpr auto accept_pause = 100ms;  ///< when out of descriptors with no spare left
inline constexpr auto hard_stop_margin = 3s; ///< after the grace period, for workers to give back
/// How many publications the other loops may still have ahead of them to
/// write when the home loop answers a publisher (RemoteBacklog). 0 makes
/// every publish wait for a round trip to each loop: a third of the
/// throughput at 1,000 subscribers on 2 loops; 16 costs nothing measurable
/// and still holds a publisher back when a loop falls behind.
inline constexpr std::uint64_t remote_backlog_window = 16;

/// epoll_event.data for the two descriptors that are not connections.
inline constexpr std::uint64_t listener_tag = ~std::uint64_t{0};
inline constexpr std::uint64_t mailbox_tag = ~std::uint64_t{0} - 1;
/// Descriptors watched for the store (Reactor::watch): this bit plus the descriptor.
inline constexpr std::uint64_t watched_tag = std::uint64_t{1} << 40;

}  // namespace es::loop_limits
