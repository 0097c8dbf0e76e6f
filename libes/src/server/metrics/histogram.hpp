// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// A latency histogram with fixed buckets (seconds, as Prometheus wants
// them), written by one loop thread and read by anyone; snapshots of several
// loops add up bucket by bucket.

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>

namespace es {

inline constexpr std::array<double, 16> histogram_bounds{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                         0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,     10};

struct HistogramSnapshot {
  std::array<std::uint64_t, histogram_bounds.size() + 1> buckets{}; ///< per bucket (not cumulative); last: +Inf
  std::uint64_t count = 0;
  double sum_seconds = 0;
};

class Histogram {
 public:
  /// One writer thread.
  void observe(std::chrono::nanoseconds d) noexcept {
    const double seconds = std::chrono::duration<double>(d).count();
    std::size_t i = 0;
    while (i < histogram_bounds.size() && seconds > histogram_bounds[i]) ++i;
    bump(buckets_[i], 1);
    bump(count_, 1);
    bump(sum_ns_, static_cast<std::uint64_t>(d.count() < 0 ? 0 : d.count()));
  }

  void add_to(HistogramSnapshot& out) const noexcept {
    for (std::size_t i = 0; i < buckets_.size(); ++i) out.buckets[i] += buckets_[i].load(std::memory_order_relaxed);
    out.count += count_.load(std::memory_order_relaxed);
    out.sum_seconds += static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
  }

 private:
  static void bump(std::atomic<std::uint64_t>& a, std::uint64_t n) noexcept {
    a.store(a.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  std::array<std::atomic<std::uint64_t>, histogram_bounds.size() + 1> buckets_{};
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_ns_{0};
};

}  // namespace es
