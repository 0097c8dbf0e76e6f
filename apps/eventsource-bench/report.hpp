// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// The figures of one run, and the two ways they are printed: a table for
// people, JSON for scripts (bench/compare reads it).

#include "latency_histogram.hpp"
#include "process_usage.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <sys/types.h>

namespace es::bench {

/// How many times each kind of failure happened ("connect: Connection refused": 3).
using FailureCounts = std::map<std::string, std::uint64_t>;

struct RunConfig {
  std::vector<std::string> subscribe_urls;
  std::string publish_url;
  unsigned subscribers = 0, tokens = 0, events = 0, publishers = 0;
  std::size_t size = 0;
  double rate = 0;  ///< publishes per second; 0 = back to back
  unsigned concurrency = 0, source_addresses = 0;
  std::vector<pid_t> pids;
};

struct ConnectFigures {
  unsigned connected = 0;
  std::uint64_t duration_ns = 0;    ///< first connect → last response head (or failure)
  LatencyHistogram head_latency;    ///< connect → response head, per subscriber
  FailureCounts failures;           ///< subscribers that never got a 200 head
};

struct PublishFigures {
  std::uint64_t planned = 0;        ///< events × tokens
  std::uint64_t attempted = 0, accepted = 0, failed = 0;  ///< attempted = accepted + failed
  std::vector<std::uint32_t> accepted_per_token;
  LatencyHistogram round_trip;      ///< request written → response read
  std::uint64_t first_send_ns = 0, last_done_ns = 0;
  FailureCounts failures;
};

struct DeliveryFigures {
  std::uint64_t expected = 0;       ///< accepted events × subscribers on their token
  std::uint64_t delivered = 0;      ///< distinct events received
  std::uint64_t lost = 0, duplicated = 0, out_of_order = 0, unrecognised = 0;
  unsigned subscribers_with_loss = 0, subscribers_with_duplicates = 0, subscribers_out_of_order = 0;
  std::uint64_t max_lost_per_subscriber = 0;
  std::uint64_t first_publish_ns = 0, last_delivery_ns = 0;
  LatencyHistogram latency;         ///< publish → receive, every delivery
  FailureCounts stream_failures;    ///< subscribers cut off during the run
};

/// One --subscribe-url's share of the run: its subscribers (i / T mod K), how
/// many of them connected, why the others did not, and what they received.
struct UrlFigures {
  std::string url;
  unsigned subscribers = 0, connected = 0;
  FailureCounts failures;           ///< its subscribers that never got a good response head
  std::uint64_t expected = 0, delivered = 0, lost = 0;
};

struct ServerUsage {
  std::optional<ProcessUsage> before, connected, after;
};

struct Report {
  RunConfig config;
  ConnectFigures connect;
  PublishFigures publish;
  DeliveryFigures delivery;
  std::vector<UrlFigures> per_url;  ///< one per --subscribe-url, in the order given
  ServerUsage server;
  double bench_cpu_seconds = 0;  ///< this process, from the first publish to the end of the run
  std::vector<std::string> notes;

  /// Every subscriber connected and every accepted event arrived once, in order.
  bool clean() const noexcept;
  double deliveries_per_second() const noexcept;
};

/// "KIND: N; KIND: N" (in the order of the kinds).
std::string failures_text(const FailureCounts& counts);
nlohmann::json to_json(const Report& report);
void print_table(std::ostream& out, const Report& report);

}  // namespace es::bench
