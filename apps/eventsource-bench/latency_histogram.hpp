// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// Latencies in nanoseconds, in log-linear buckets (HdrHistogram's layout: 64
// linear sub-buckets per power of two, so any reported value is within 1/64 of
// the true one). Constant memory however many deliveries a run has.

#include <array>
#include <cstdint>

namespace es::bench {

class LatencyHistogram {
 public:
  void record(std::uint64_t ns) noexcept;
  void merge(const LatencyHistogram& other) noexcept;

  std::uint64_t count() const noexcept { return count_; }
  std::uint64_t max() const noexcept { return max_; }
  double mean() const noexcept;
  /// The value at or below which `fraction` (0..1) of the samples lie (the
  /// upper edge of its bucket, capped at the maximum); 0 when empty.
  std::uint64_t percentile(double fraction) const noexcept;

 private:
  static constexpr unsigned sub_bits = 7;  // 128 exact values, then 64 per power of two
  static constexpr std::size_t bucket_count = (1u << sub_bits) + (64 - sub_bits) * (1u << (sub_bits - 1));
  static std::size_t index_of(std::uint64_t ns) noexcept;
  static std::uint64_t upper_edge(std::size_t index) noexcept;

  std::array<std::uint64_t, bucket_count> buckets_{};
  std::uint64_t count_ = 0;
  std::uint64_t max_ = 0;
  long double sum_ = 0;
};

}  // namespace es::bench
