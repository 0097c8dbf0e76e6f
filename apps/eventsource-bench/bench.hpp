// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// eventsource-bench's run: connect the subscribers, publish, wait for the
// deliveries, report. main.cpp builds Options from the command line.

#include <iosfwd>
#include <string>
#include <vector>

#include <sys/types.h>

namespace es::bench {

struct Options {
  /// Where subscribers connect; with K URLs, subscriber i uses URL (i / tokens) % K.
  std::vector<std::string> subscribe_urls = {"http://127.0.0.1:8888/poll/{token}"};
  std::string publish_url = "http://127.0.0.1:8888/ping/{token}";
  unsigned subscribers = 1000;
  unsigned tokens = 1;
  unsigned events = 100;
  std::size_t size = 100;
  unsigned publishers = 1;
  double rate = 0;                 ///< publishes per second over all publishers; 0 = back to back
  unsigned concurrency = 256;      ///< connections awaiting their response head, at most
  unsigned source_addresses = 0;   ///< 127.0.0.x addresses to connect from; 0 = as many as N needs
  double connect_timeout = 10;     ///< seconds from connect() to the response head
  double drain_timeout = 10;       ///< seconds without a delivery, after the last publish, before the rest counts as lost
  std::vector<pid_t> pids;         ///< the server's processes (their children are counted too)
  std::string token_prefix;        ///< empty: one unique to this run
  bool websocket = false;          ///< subscribers use WebSocket (Upgrade on the subscribe URL)
  bool json = false;
  bool quiet = false;
};

/// Exit statuses, documented in the man page.
inline constexpr int exit_clean = 0;         ///< every subscriber connected, every event arrived once, in order
inline constexpr int exit_not_clean = 1;     ///< the run finished, but something failed, was lost, duplicated or reordered
inline constexpr int exit_cannot_run = 2;    ///< bad options, or the run cannot be made as asked (descriptor limit)

/// Runs the benchmark; the report goes to `out`, progress and errors to `err`.
int run(const Options& options, std::ostream& out, std::ostream& err);

}  // namespace es::bench
