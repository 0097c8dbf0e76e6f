// SPDX-License-Identifier: GPL-3.0-or-later
#include "bench.hpp"

#include "endpoint.hpp"
#include "monotonic_clock.hpp"
#include "process_usage.hpp"
#include "publisher.hpp"
#include "report.hpp"
#include "stamp.hpp"
#include "subscriber_pool.hpp"
#include "url_template.hpp"

#include <csignal>
#include <ctime>
#include <ostream>
#include <sstream>
#include <string>

#include <sys/resource.h>
#include <unistd.h>

namespace es::bench {

namespace {

constexpr std::uint64_t progress_every_ns = 1'000'000'000;
// Descriptors besides the connections: stdio, epoll, /proc reads, and slack.
constexpr rlim_t spare_descriptors = 32;
// One source address reaches one destination from ~28,000 ephemeral ports,
// but connect() slows down long before they run out: its search for a free
// port probes the used ones. Measured here: 15,000 connections from one
// address took 2.3 s (p99 449 ms to the response head), from two 0.9 s (46 ms).
constexpr unsigned connections_per_source_address = 10000;
// The per-subscriber record of which events arrived is a bit per event.
constexpr double max_tracking_bytes = 4.0 * 1024 * 1024 * 1024;

struct Setup {
  std::vector<UrlTemplate> subscribe;
  std::vector<Endpoint> subscribe_endpoints;
  UrlTemplate publish;
  Endpoint publish_endpoint;
  std::vector<std::string> tokens;
  unsigned source_addresses = 1;
};

Result<Setup> prepare(const Options& o) {
  if (o.subscribers == 0) return Failure{"--subscribers must be at least 1"};
  if (o.tokens == 0 || o.tokens > o.subscribers)
    return Failure{"--tokens must be between 1 and the number of subscribers (" + std::to_string(o.subscribers) + ")"};
  if (o.events == 0) return Failure{"--events must be at least 1"};
  if (o.size < stamp_size)
    return Failure{"--size must be at least " + std::to_string(stamp_size) +
                   " bytes: each event carries its sequence number, publisher and send time"};
  if (o.publishers == 0 || o.publishers > 999) return Failure{"--publishers must be between 1 and 999"};
  if (o.rate < 0) return Failure{"--rate must not be negative (0 = back to back)"};
  if (o.concurrency == 0) return Failure{"--concurrency must be at least 1"};
  if (o.source_addresses > 254) return Failure{"--source-addresses must be at most 254 (127.0.0.1 … 127.0.0.254)"};
  if (o.connect_timeout <= 0 || o.drain_timeout <= 0) return Failure{"timeouts must be positive"};
  const double tracking = static_cast<double>(o.subscribers) * ((o.events + 63) / 64) * 8;
  if (tracking > max_tracking_bytes)
    return Failure{"--subscribers × --events is too large: tracking every event would take " +
                   std::to_string(static_cast<unsigned long long>(tracking / 1e6)) + " MB"};

  Setup setup;
  if (o.subscribe_urls.empty()) return Failure{"--subscribe-url is required"};
  bool loopback = true;
  for (const std::string& url : o.subscribe_urls) {
    auto subscribe = UrlTemplate::parse(url);
    if (!subscribe) return Failure{"--subscribe-url " + subscribe.error()};
    auto endpoint = Endpoint::resolve(subscribe.value().host, subscribe.value().port);
    if (!endpoint) return Failure{endpoint.error()};
    if (o.source_addresses > 1 && !endpoint.value().is_ipv4_loopback())
      return Failure{"--source-addresses spreads connections over 127.0.0.x, so every subscribe URL must be a "
                     "127.x.x.x address (" + url + " is " + endpoint.value().text + ")"};
    loopback = loopback && endpoint.value().is_ipv4_loopback();
    setup.subscribe.push_back(std::move(subscribe).value());
    setup.subscribe_endpoints.push_back(std::move(endpoint).value());
  }
  auto publish = UrlTemplate::parse(o.publish_url);
  if (!publish) return Failure{"--publish-url " + publish.error()};
  setup.publish = std::move(publish).value();
  auto publish_endpoint = Endpoint::resolve(setup.publish.host, setup.publish.port);
  if (!publish_endpoint) return Failure{publish_endpoint.error()};
  setup.publish_endpoint = std::move(publish_endpoint).value();

  setup.source_addresses = o.source_addresses != 0 ? o.source_addresses
                           : loopback ? (o.subscribers + connections_per_source_address - 1) / connections_per_source_address
                                      : 1;

  const std::string prefix = !o.token_prefix.empty()
                                 ? o.token_prefix
                                 : "bench_" + std::to_string(getpid()) + "_" + std::to_string(std::time(nullptr) % 100000) + "_";
  for (unsigned t = 0; t < o.tokens; ++t) setup.tokens.push_back(prefix + std::to_string(t));
  return setup;
}

/// Raises the soft descriptor limit to the hard one; says so when N cannot be reached.
Result<bool> raise_descriptor_limit(const Options& o) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return Failure{"getrlimit(RLIMIT_NOFILE) failed"};
  const rlim_t needed = static_cast<rlim_t>(o.subscribers) + o.publishers + spare_descriptors;
  if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < needed) {
    const rlim_t most = limit.rlim_max > o.publishers + spare_descriptors ? limit.rlim_max - o.publishers - spare_descriptors : 0;
    return Failure{std::to_string(o.subscribers) + " subscribers need " + std::to_string(needed) +
                   " file descriptors, but this process may open at most " + std::to_string(limit.rlim_max) +
                   " (the hard limit, ulimit -Hn): run at most " + std::to_string(most) +
                   " subscribers per process, or raise the hard limit (root: ulimit -Hn, systemd: LimitNOFILE=)"};
  }
  if (limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= needed) return true;
  limit.rlim_cur = limit.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) return Failure{"setrlimit(RLIMIT_NOFILE) failed"};
  return true;
}

std::string seconds_text(double value) {
  std::ostringstream text;
  text << value << " s";
  return text.str();
}

double own_cpu_seconds() {
  rusage use{};
  getrusage(RUSAGE_SELF, &use);
  const auto add = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return add(use.ru_utime) + add(use.ru_stime);
}

class Progress {
 public:
  Progress(std::ostream& err, bool quiet) : err_(err), quiet_(quiet), next_ns_(now_ns() + progress_every_ns) {}
  template <class Say>
  void tick(Say&& say) {
    if (quiet_) return;
    const std::uint64_t now = now_ns();
    if (now < next_ns_) return;
    next_ns_ = now + progress_every_ns;
    err_ << "eventsource-bench: " << say() << std::endl;
  }

 private:
  std::ostream& err_;
  bool quiet_;
  std::uint64_t next_ns_;
};

}  // namespace

int run(const Options& options, std::ostream& out, std::ostream& err) {
  auto setup_result = prepare(options);
  if (!setup_result) {
    err << "eventsource-bench: " << setup_result.error() << "\n";
    return exit_cannot_run;
  }
  if (auto raised = raise_descriptor_limit(options); !raised) {
    err << "eventsource-bench: " << raised.error() << "\n";
    return exit_cannot_run;
  }
  Setup setup = std::move(setup_result).value();
  std::signal(SIGPIPE, SIG_IGN);

  Report report;
  report.config = {options.subscribe_urls, options.publish_url, options.subscribers, options.tokens,
                   options.events, options.publishers, options.size, options.rate, options.concurrency,
                   setup.source_addresses, options.pids};
  if (setup.source_addresses > 1)
    report.notes.push_back("connections spread over " + std::to_string(setup.source_addresses) +
                           " source addresses, 127.0.0.1 to 127.0.0." + std::to_string(setup.source_addresses));
  const auto usage = [&] { return options.pids.empty() ? std::nullopt : read_process_usage(options.pids); };
  report.server.before = usage();

  SubscriberPool pool({setup.subscribe, setup.subscribe_endpoints, setup.tokens, options.subscribers,
                       options.concurrency, setup.source_addresses, options.publishers, options.events,
                       static_cast<std::uint64_t>(options.connect_timeout * 1e9), options.websocket});
  Progress progress(err, options.quiet);
  while (!pool.connecting_done()) {
    pool.poll(100);
    progress.tick([&] {
      return "connecting: " + std::to_string(pool.connected()) + " of " + std::to_string(options.subscribers) +
             " answered, " + std::to_string(pool.failed_to_connect()) + " failed";
    });
  }
  report.server.connected = usage();

  Publisher publisher({setup.publish, setup.publish_endpoint, setup.tokens, options.events, options.size,
                       options.publishers, options.rate});
  const double cpu_at_start = own_cpu_seconds();
  if (pool.connected() > 0) {
    publisher.start();
    const auto drain_ns = static_cast<std::uint64_t>(options.drain_timeout * 1e9);
    std::uint64_t published_ns = 0;
    for (;;) {
      pool.poll(20);
      const std::uint64_t now = now_ns();
      if (published_ns == 0 && publisher.finished()) {
        published_ns = now;
        pool.expect(publisher.figures().accepted_per_token);
      }
      if (published_ns != 0) {
        if (pool.outstanding() == 0) break;
        const std::uint64_t quiet_since = std::max(published_ns, pool.last_delivery_ns());
        if (now - quiet_since > drain_ns) {
          report.notes.push_back("stopped waiting " + seconds_text(options.drain_timeout) +
                                 " after the last delivery; what had not arrived counts as lost");
          break;
        }
      }
      progress.tick([&] {
        return "publishing: " + std::to_string(publisher.done()) + " of " + std::to_string(publisher.total()) +
               " sent, " + std::to_string(pool.delivered()) + " deliveries";
      });
    }
    report.publish = publisher.figures();
  } else {
    report.notes.push_back("no subscriber connected, so nothing was published");
  }
  report.server.after = usage();
  report.bench_cpu_seconds = own_cpu_seconds() - cpu_at_start;
  pool.fill(report.connect, report.delivery, report.per_url);
  for (std::size_t u = 0; u < report.per_url.size(); ++u) {
    UrlFigures& url = report.per_url[u];
    url.url = options.subscribe_urls[u];
    if (report.per_url.size() > 1 && url.subscribers > 0 && url.connected == 0)
      report.notes.push_back("none of the " + std::to_string(url.subscribers) + " subscribers of " + url.url +
                             " connected (" + failures_text(url.failures) + ")");
  }
  report.delivery.first_publish_ns = report.publish.first_send_ns;
  pool.close_all();

  if (options.json) out << to_json(report).dump(2) << "\n";
  else print_table(out, report);
  return report.clean() ? exit_clean : exit_not_clean;
}

}  // namespace es::bench
