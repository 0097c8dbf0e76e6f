// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// The one clock of a run. CLOCK_MONOTONIC is system-wide, so the send time a
// publisher embeds in an event and the receive time a subscriber reads are on
// the same scale: latency = receive time − embedded send time.

#include <cstdint>
#include <ctime>

namespace es::bench {

inline std::uint64_t now_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

inline double seconds(std::uint64_t ns) noexcept { return static_cast<double>(ns) / 1e9; }

}  // namespace es::bench
