// SPDX-License-Identifier: GPL-3.0-or-later
#include "server/metrics/prometheus.hpp"

#include <charconv>

namespace es {
namespace {

std::string number(double value) {
  char text[64];
  const auto [end, error] = std::to_chars(text, text + sizeof text, value);
  return error == std::errc{} ? std::string(text, end) : std::string("NaN");
}

void describe(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

}  // namespace

std::string render_prometheus(const MetricsSnapshot& m) {
  std::string out;
  out.reserve(4096);
  for (const CounterSpec& spec : counter_specs) {
    describe(out, spec.metric, spec.gauge ? "gauge" : "counter", spec.help);
    if (spec.counter == Counter::subscribers) {
      for (std::size_t k = 0; k < m.kind_names.size(); ++k)
        out.append(spec.metric)
            .append("{kind=\"")
            .append(m.kind_names[k])
            .append("\"} ")
            .append(std::to_string(m.counters.subscribers_by_kind[k]))
            .append("\n");
      continue;
    }
    out.append(spec.metric).append(" ").append(std::to_string(m.counters[spec.counter])).append("\n");
  }

  constexpr std::string_view fanout = "eventsource_fanout_duration_seconds";
  describe(out, fanout, "histogram",
           "How long a fan-out takes: from a publication's delivery to the last of its subscribers' queues written.");
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < histogram_bounds.size(); ++i) {
    cumulative += m.fanout_seconds.buckets[i];
    out.append(fanout).append("_bucket{le=\"").append(number(histogram_bounds[i])).append("\"} ");
    out.append(std::to_string(cumulative)).append("\n");
  }
  cumulative += m.fanout_seconds.buckets.back();
  out.append(fanout).append("_bucket{le=\"+Inf\"} ").append(std::to_string(cumulative)).append("\n");
  out.append(fanout).append("_sum ").append(number(m.fanout_seconds.sum_seconds)).append("\n");
  out.append(fanout).append("_count ").append(std::to_string(m.fanout_seconds.count)).append("\n");

  describe(out, "eventsource_uptime_seconds", "gauge", "Seconds since the server started serving.");
  out.append("eventsource_uptime_seconds ").append(number(m.uptime_seconds)).append("\n");
  describe(out, "eventsource_build_info", "gauge", "The running version (always 1).");
  out.append("eventsource_build_info{version=\"").append(m.version).append("\"} 1\n");
  return out;
}

}  // namespace es
