// SPDX-License-Identifier: GPL-3.0-or-later
#include "latency_histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace es::bench {

std::size_t LatencyHistogram::index_of(std::uint64_t ns) noexcept {
  constexpr std::uint64_t exact = 1u << sub_bits;
  if (ns < exact) return static_cast<std::size_t>(ns);
  const unsigned shift = static_cast<unsigned>(std::bit_width(ns)) - sub_bits;  // ≥ 1
  const std::uint64_t top = ns >> shift;                                          // 64..127
  return static_cast<std::size_t>(exact + (shift - 1) * (exact / 2) + (top - exact / 2));
}

std::uint64_t LatencyHistogram::upper_edge(std::size_t index) noexcept {
  constexpr std::uint64_t exact = 1u << sub_bits;
  if (index < exact) return index;
  const std::uint64_t past = index - exact;
  const unsigned shift = static_cast<unsigned>(past / (exact / 2)) + 1;
  const std::uint64_t top = past % (exact / 2) + exact / 2;
  return ((top + 1) << shift) - 1;
}

void LatencyHistogram::record(std::uint64_t ns) noexcept {
  ++buckets_[index_of(ns)];
  ++count_;
  max_ = std::max(max_, ns);
  sum_ += static_cast<long double>(ns);
}

void LatencyHistogram::merge(const LatencyHistogram& other) noexcept {
  for (std::size_t i = 0; i < bucket_count; ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
}

double LatencyHistogram::mean() const noexcept {
  return count_ == 0 ? 0.0 : static_cast<double>(sum_ / static_cast<long double>(count_));
}

std::uint64_t LatencyHistogram::percentile(double fraction) const noexcept {
  if (count_ == 0) return 0;
  const double wanted = std::ceil(std::clamp(fraction, 0.0, 1.0) * static_cast<double>(count_));
  const std::uint64_t rank = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(wanted));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < bucket_count; ++i) {
    seen += buckets_[i];
    if (seen >= rank) return std::min(upper_edge(i), max_);
  }
  return max_;
}

}  // namespace es::bench
