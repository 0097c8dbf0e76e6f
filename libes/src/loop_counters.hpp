// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// Counters written by the loop thread and read by anyone (GET /stats):
// relaxed atomics, since a snapshot need not be consistent across fields.

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace es {

struct LoopCounters {
  std::atomic<std::size_t> tokens{0};
  std::atomic<std::size_t> subscribers{0};
  std::atomic<std::size_t> connections{0};
  std::atomic<std::uint64_t> events_published{0};
  std::atomic<std::uint64_t> events_delivered{0};
  std::atomic<std::uint64_t> slow_disconnects{0};
  std::atomic<std::uint64_t> refused_connections{0};
};

}  // namespace es
