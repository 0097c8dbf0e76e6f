// SPDX-License-Identifier: GPL-3.0-or-later
#include "report.hpp"

#include "monotonic_clock.hpp"

#include <cstdio>
#include <string>

namespace es::bench {

namespace {

double ms(std::uint64_t ns) { return static_cast<double>(ns) / 1e6; }

nlohmann::json latency_json(const LatencyHistogram& h) {
  return {{"count", h.count()},
          {"p50", ms(h.percentile(0.50))},
          {"p90", ms(h.percentile(0.90))},
          {"p99", ms(h.percentile(0.99))},
          {"max", ms(h.max())},
          {"mean", h.mean() / 1e6}};
}

nlohmann::json usage_json(const std::optional<ProcessUsage>& usage) {
  if (!usage) return nullptr;
  return {{"rss_bytes", usage->rss_bytes},
          {"threads", usage->threads},
          {"processes", usage->processes},
          {"cpu_seconds", usage->cpu_seconds}};
}

std::uint64_t failure_total(const FailureCounts& counts) {
  std::uint64_t total = 0;
  for (const auto& [kind, n] : counts) total += n;
  return total;
}

std::string format(const char* pattern, auto... values) {
  char text[256];
  std::snprintf(text, sizeof text, pattern, values...);
  return text;
}

std::string latency_line(const LatencyHistogram& h) {
  if (h.count() == 0) return "none measured";
  return format("p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  max %.2f ms", ms(h.percentile(0.50)),
                ms(h.percentile(0.90)), ms(h.percentile(0.99)), ms(h.max()));
}

std::string megabytes(std::uint64_t bytes) { return format("%.1f MB", static_cast<double>(bytes) / 1e6); }

std::optional<double> rss_per_subscriber(const Report& report) {
  const auto& s = report.server;
  if (!s.before || !s.connected || report.connect.connected == 0) return std::nullopt;
  const double grown = static_cast<double>(s.connected->rss_bytes) - static_cast<double>(s.before->rss_bytes);
  return grown / report.connect.connected;
}

std::optional<double> run_cpu_seconds(const Report& report) {
  const auto& s = report.server;
  if (!s.connected || !s.after) return std::nullopt;
  return s.after->cpu_seconds - s.connected->cpu_seconds;
}

}  // namespace

std::string failures_text(const FailureCounts& counts) {
  std::string text;
  for (const auto& [kind, n] : counts) text += (text.empty() ? "" : "; ") + kind + ": " + std::to_string(n);
  return text;
}

bool Report::clean() const noexcept {
  return connect.connected == config.subscribers && publish.failed == 0 && publish.attempted == publish.planned &&
         delivery.lost == 0 &&
         delivery.duplicated == 0 && delivery.out_of_order == 0 && delivery.stream_failures.empty();
}

double Report::deliveries_per_second() const noexcept {
  if (delivery.last_delivery_ns <= delivery.first_publish_ns) return 0;
  return static_cast<double>(delivery.delivered) / seconds(delivery.last_delivery_ns - delivery.first_publish_ns);
}

nlohmann::json to_json(const Report& r) {
  nlohmann::json json;
  json["config"] = {{"subscribe_url", r.config.subscribe_urls.front()}, {"subscribe_urls", r.config.subscribe_urls},
                    {"publish_url", r.config.publish_url},
                    {"subscribers", r.config.subscribers},     {"tokens", r.config.tokens},
                    {"events", r.config.events},               {"size", r.config.size},
                    {"publishers", r.config.publishers},       {"rate", r.config.rate},
                    {"concurrency", r.config.concurrency},     {"source_addresses", r.config.source_addresses}};
  json["connect"] = {{"wanted", r.config.subscribers},
                     {"connected", r.connect.connected},
                     {"failed", failure_total(r.connect.failures)},
                     {"seconds", seconds(r.connect.duration_ns)},
                     {"head_latency_ms", latency_json(r.connect.head_latency)},
                     {"failures", r.connect.failures}};
  json["publish"] = {{"planned", r.publish.planned},
                     {"attempted", r.publish.attempted},
                     {"accepted", r.publish.accepted},
                     {"failed", r.publish.failed},
                     {"seconds", r.publish.last_done_ns > r.publish.first_send_ns
                                     ? seconds(r.publish.last_done_ns - r.publish.first_send_ns)
                                     : 0.0},
                     {"round_trip_ms", latency_json(r.publish.round_trip)},
                     {"failures", r.publish.failures}};
  const auto& d = r.delivery;
  json["delivery"] = {{"expected", d.expected},
                      {"delivered", d.delivered},
                      {"lost", d.lost},
                      {"duplicated", d.duplicated},
                      {"out_of_order", d.out_of_order},
                      {"unrecognised", d.unrecognised},
                      {"subscribers_with_loss", d.subscribers_with_loss},
                      {"subscribers_with_duplicates", d.subscribers_with_duplicates},
                      {"subscribers_out_of_order", d.subscribers_out_of_order},
                      {"max_lost_per_subscriber", d.max_lost_per_subscriber},
                      {"seconds", d.last_delivery_ns > d.first_publish_ns
                                      ? seconds(d.last_delivery_ns - d.first_publish_ns)
                                      : 0.0},
                      {"per_second", r.deliveries_per_second()},
                      {"latency_ms", latency_json(d.latency)},
                      {"stream_failures", d.stream_failures}};
  json["per_subscribe_url"] = nlohmann::json::array();
  for (const UrlFigures& u : r.per_url)
    json["per_subscribe_url"].push_back({{"url", u.url},
                                         {"subscribers", u.subscribers},
                                         {"connected", u.connected},
                                         {"failed", failure_total(u.failures)},
                                         {"failures", u.failures},
                                         {"expected", u.expected},
                                         {"delivered", u.delivered},
                                         {"lost", u.lost}});
  const auto per_subscriber = rss_per_subscriber(r);
  json["server"] = {{"pids", r.config.pids},
                    {"before", usage_json(r.server.before)},
                    {"connected", usage_json(r.server.connected)},
                    {"after", usage_json(r.server.after)},
                    {"rss_per_subscriber_bytes", per_subscriber ? nlohmann::json(*per_subscriber) : nullptr},
                    {"run_cpu_seconds", run_cpu_seconds(r) ? nlohmann::json(*run_cpu_seconds(r)) : nullptr}};
  json["bench_cpu_seconds"] = r.bench_cpu_seconds;
  json["clean"] = r.clean();
  json["notes"] = r.notes;
  return json;
}

void print_table(std::ostream& out, const Report& r) {
  const auto& c = r.config;
  out << format("eventsource-bench: %u subscribers on %u token%s, %u event%s of %zu bytes per token, %u publisher%s, ",
                c.subscribers, c.tokens, c.tokens == 1 ? "" : "s", c.events, c.events == 1 ? "" : "s", c.size,
                c.publishers, c.publishers == 1 ? "" : "s")
      << (c.rate > 0 ? format("paced at %g/s", c.rate) : std::string("back to back")) << "\n";
  if (r.per_url.size() > 1) {
    // Several servers: each one's subscribers, connections and deliveries.
    for (const UrlFigures& u : r.per_url) {
      out << "  subscribe   " << u.url
          << format(": %u of %u connected, %llu of %llu delivered", u.connected, u.subscribers,
                    static_cast<unsigned long long>(u.delivered), static_cast<unsigned long long>(u.expected))
          << "\n";
      if (!u.failures.empty()) out << "              failed: " << failures_text(u.failures) << "\n";
    }
  } else {
    for (const std::string& url : c.subscribe_urls) out << "  subscribe   " << url << "\n";
  }
  out << "  publish     " << c.publish_url << "\n";

  const auto& k = r.connect;
  const double connect_s = seconds(k.duration_ns);
  out << format("  connect     %u of %u in %.2f s (%.0f/s); head %s\n", k.connected, c.subscribers, connect_s,
                connect_s > 0 ? k.connected / connect_s : 0.0, latency_line(k.head_latency).c_str());
  if (!k.failures.empty()) out << "              failed: " << failures_text(k.failures) << "\n";

  const auto& p = r.publish;
  out << format("  publish     %llu of %llu accepted; round trip %s\n", static_cast<unsigned long long>(p.accepted),
                static_cast<unsigned long long>(p.planned), latency_line(p.round_trip).c_str());
  if (p.attempted < p.planned)
    out << format("              %llu not sent: the server stopped answering\n",
                  static_cast<unsigned long long>(p.planned - p.attempted));
  if (!p.failures.empty()) out << "              failed: " << failures_text(p.failures) << "\n";

  const auto& d = r.delivery;
  const double delivery_s = d.last_delivery_ns > d.first_publish_ns ? seconds(d.last_delivery_ns - d.first_publish_ns) : 0;
  out << format("  delivery    %llu of %llu in %.2f s: %.0f deliveries/s\n",
                static_cast<unsigned long long>(d.delivered), static_cast<unsigned long long>(d.expected), delivery_s,
                r.deliveries_per_second());
  out << "  latency     " << latency_line(d.latency) << "\n";
  out << format("  integrity   lost %llu (%u subscribers, at most %llu each), duplicated %llu (%u), out of order %llu (%u)",
                static_cast<unsigned long long>(d.lost), d.subscribers_with_loss,
                static_cast<unsigned long long>(d.max_lost_per_subscriber),
                static_cast<unsigned long long>(d.duplicated), d.subscribers_with_duplicates,
                static_cast<unsigned long long>(d.out_of_order), d.subscribers_out_of_order);
  if (d.unrecognised > 0) out << format(", not from this run %llu", static_cast<unsigned long long>(d.unrecognised));
  out << "\n";
  if (!d.stream_failures.empty()) out << "              cut off: " << failures_text(d.stream_failures) << "\n";

  const auto& s = r.server;
  if (s.before && s.connected) {
    out << "  server      rss " << megabytes(s.before->rss_bytes) << " idle, " << megabytes(s.connected->rss_bytes)
        << " connected";
    if (const auto per = rss_per_subscriber(r)) out << format(" (%.0f bytes/subscriber)", *per);
    if (s.after) out << ", " << megabytes(s.after->rss_bytes) << " after the run";
    else out << ", gone after the run";
    out << "; threads " << s.connected->threads;
    if (s.connected->processes > 1) out << " in " << s.connected->processes << " processes";
    out << "\n";
    if (s.after)
      out << format("  cpu         during the run: server %.2f s, bench %.2f s\n", run_cpu_seconds(r).value_or(0),
                    r.bench_cpu_seconds);
  } else if (!c.pids.empty()) {
    out << "  server      (process not found)\n";
  }
  for (const std::string& note : r.notes) out << "  note        " << note << "\n";
  out << "  result      " << (r.clean() ? "clean" : "NOT CLEAN (see above)") << "\n";
}

}  // namespace es::bench
