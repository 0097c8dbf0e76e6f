// SPDX-License-Identifier: GPL-3.0-or-later
// eventsource-bench: load generator for server-sent events servers. Options
// are documented in man/eventsource-bench.1, which must match --help.

// GCC 12 reports a "potential null pointer dereference" inside CLI11's
// inlined std::vector<std::string> growth (CLI::detail::split): a false
// positive in a system header that -Werror would turn into a failed build.
#pragma GCC diagnostic ignored "-Wnull-dereference"

#include "bench.hpp"

#include <CLI/CLI.hpp>

#include <exception>
#include <iostream>

int main(int argc, char** argv) {
  es::bench::Options o;
  CLI::App app{
      "eventsource-bench: opens N event-stream subscribers on T tokens, publishes M events of S bytes to each\n"
      "token, and reports connect time, deliveries per second, publish-to-receive latency, events lost,\n"
      "duplicated or out of order, and the server's memory. The URLs hold {token}; defaults target\n"
      "eventsource-server on 127.0.0.1:8888; for nginx+nchan use --subscribe-url http://HOST:PORT/sub/{token}\n"
      "--publish-url http://HOST:PORT/pub/{token}.",
      "eventsource-bench"};
  app.option_defaults()->always_capture_default();
  app.get_formatter()->column_width(34);
  app.add_option("-n,--subscribers", o.subscribers, "Subscriber connections (N), held open in one process");
  app.add_option("-t,--tokens", o.tokens, "Tokens (channels) the subscribers are spread over, round robin (T)");
  app.add_option("-m,--events", o.events, "Events published to each token (M)");
  app.add_option("-s,--size", o.size, "Bytes of data per event (S); at least 46, for the stamp");
  app.add_option("-p,--publishers", o.publishers, "Concurrent publishers, each one keep-alive connection (P)");
  app.add_option("-r,--rate", o.rate, "Publishes per second over all publishers; 0 = back to back");
  app.add_option("--subscribe-url", o.subscribe_urls,
                 "Where subscribers connect; {token} is replaced; repeat to spread them over several servers")
      ->allow_extra_args(false);
  app.add_option("--publish-url", o.publish_url, "Where events are POSTed; {token} is replaced");
  app.add_option("-c,--concurrency", o.concurrency, "Connections awaiting their response head, at most");
  app.add_option("--source-addresses", o.source_addresses,
                 "Connect from 127.0.0.1 .. 127.0.0.K in turn; 0 = one per 10,000 subscribers (for a 127.x target)");
  app.add_option("--connect-timeout", o.connect_timeout, "Seconds from connect to the response head");
  app.add_option("--drain-timeout", o.drain_timeout,
                 "Seconds without a delivery, after the last publish, before missing events count as lost");
  app.add_option("--pid", o.pids, "The server's process (repeatable); its children are counted too (nginx: the master)");
  app.add_option("--token-prefix", o.token_prefix, "Tokens are PREFIX0, PREFIX1, ...; default: unique to the run");
  app.add_flag("--ws", o.websocket,
               "Subscribers open WebSockets (Upgrade on the subscribe URL); one message per event");
  app.add_flag("-j,--json", o.json, "Print the report as JSON");
  app.add_flag("-q,--quiet", o.quiet, "No progress lines on stderr");
  app.set_version_flag("--version", "eventsource-bench 0.1.0");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int status = app.exit(e);
    return status == 0 ? 0 : es::bench::exit_cannot_run;
  }
  try {
    return es::bench::run(o, std::cout, std::cerr);
  } catch (const std::exception& e) {
    std::cerr << "eventsource-bench: " << e.what() << "\n";
    return es::bench::exit_cannot_run;
  }
}
