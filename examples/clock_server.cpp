// SPDX-License-Identifier: GPL-3.0-or-later
// Embedding libes: an SSE server that streams the time to every subscriber of
// token "clock" and refuses subscribers without an "X-Api-Key: demo" header
// on other tokens. Try it:
//   build/examples/clock_server 8899 &
//   curl -N http://127.0.0.1:8899/poll/clock
//   curl -N -H 'X-Api-Key: demo' http://127.0.0.1:8899/poll/other
#include <es/server.hpp>

#include <csignal>
#include <cstdio>
#include <ctime>
#include <string>

#include <signal.h>

int main(int argc, char** argv) {
  es::ServerOptions options;
  options.host = "127.0.0.1";
  options.port = argc > 1 ? static_cast<std::uint16_t>(std::stoi(argv[1])) : 8899;

  es::Server server(options);
  server.on_check_connection([](const es::SubscriberInfo& who) -> std::optional<es::Refusal> {
    if (who.token == "clock" || who.header("X-Api-Key") == "demo") return std::nullopt;
    return es::Refusal{403, "an X-Api-Key header is needed for this token"};
  });
  server.on_open([](const es::SubscriberInfo& who) {
    std::fprintf(stderr, "open %.*s from %.*s\n", int(who.token.size()), who.token.data(), int(who.remote.size()),
                 who.remote.data());
  });
  server.on_close([](const es::SubscriberInfo& who, es::CloseReason why) {
    auto reason = es::to_string(why);
    std::fprintf(stderr, "close %.*s (%.*s)\n", int(who.token.size()), who.token.data(), int(reason.size()),
                 reason.data());
  });

  // Block SIGINT and SIGTERM before any thread starts (threads inherit the
  // mask), then take them synchronously below: no work in a signal handler.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  server.start();
  // publish() may be called from any thread; here, a ticker on the main one,
  // which waits for a stop signal for one second between ticks.
  const timespec tick{1, 0};
  do {
    es::Event tick_event;
    tick_event.name = "tick";
    tick_event.data = std::to_string(std::time(nullptr));
    server.publish("clock", tick_event);
  } while (sigtimedwait(&stop_signals, nullptr, &tick) < 0);
  server.stop();
  return 0;
}
