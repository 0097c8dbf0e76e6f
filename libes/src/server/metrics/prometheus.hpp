// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// GET /metrics: the counter table, subscribers by kind and the fan-out
// histogram in the Prometheus text exposition format (version 0.0.4).

#include "server/metrics/counters.hpp"
#include "server/metrics/histogram.hpp"

#include <span>
#include <string>
#include <string_view>

namespace es {

inline constexpr std::string_view prometheus_content_type = "text/plain; version=0.0.4; charset=utf-8";

struct MetricsSnapshot {
  CounterSnapshot counters;
  HistogramSnapshot fanout_seconds;
  std::span<const std::string_view> kind_names; ///< index = the kind's in subscribers_by_kind
  double uptime_seconds = 0;
  std::string_view version;
};

std::string render_prometheus(const MetricsSnapshot& m);

}  // namespace es
