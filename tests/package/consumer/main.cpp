// SPDX-License-Identifier: GPL-3.0-or-later
// Embeds es::Server as the README shows, against the installed libes: serve
// on a free loopback port, publish, read the event back with es::collect, stop.
#include <es/collect.hpp>
#include <es/server.hpp>

#include <chrono>
#include <cstdio>
#include <string>

int main() {
  using namespace std::chrono_literals;
  es::ServerOptions options;
  options.host = "127.0.0.1";
  options.port = 0;
  options.latest = true; // a subscriber that comes later gets the latest event
  es::Server server(options);
  server.start();
  if (server.port() == 0) {
    std::fprintf(stderr, "consumer: no port\n");
    return 1;
  }
  es::Event event;
  event.name = "tick";
  event.data = "hello from a consumer";
  auto published = server.publish("clock", event);
  if (!published) {
    std::fprintf(stderr, "consumer: publish failed: %s\n", published.message.c_str());
    return 1;
  }
  auto got = es::collect("http://127.0.0.1:" + std::to_string(server.port()) + "/poll/clock", 1, 10s);
  server.stop();
  if (got.events.size() != 1 || got.events[0].name != "tick" || got.events[0].data != event.data) {
    std::fprintf(stderr, "consumer: expected one tick event, got %zu\n", got.events.size());
    return 1;
  }
  std::printf("consumer: got \"%s\"\n", got.events[0].data.c_str());
  return 0;
}
