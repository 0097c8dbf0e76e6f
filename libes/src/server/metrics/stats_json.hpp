// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// GET /stats: the counter table as one JSON object, in the order of
// counter_specs, plus the uptime.

#include "server/metrics/counters.hpp"

#include <string>

namespace es {

/// The body of GET /stats, newline-terminated.
std::string render_stats_json(const CounterSnapshot& counters, double uptime_seconds);

}  // namespace es
