// SPDX-License-Identifier: GPL-3.0-or-later
#include "server/metrics/stats_json.hpp"

#include <nlohmann/json.hpp>

namespace es {

std::string render_stats_json(const CounterSnapshot& counters, double uptime_seconds) {
  nlohmann::ordered_json body;
  for (const auto& spec : counter_specs) body[std::string(spec.name)] = counters[spec.counter];
  body["uptime_seconds"] = uptime_seconds;
  return body.dump() + "\n"; // a shell prompt after curl starts on its own line
}

}  // namespace es
