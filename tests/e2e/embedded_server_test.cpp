// SPDX-License-Identifier: GPL-3.0-or-later
// es::Server used as a library: hooks, publishing from other threads, stop(),
// with real sockets on loopback (port 0).
#include "harness.hpp"

#include <es/server.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

using namespace es::test;

namespace {

// Log lines go here instead of stderr, so tests can assert on them.
struct CollectedLog {
  std::mutex mutex;
  std::vector<std::string> lines;

  std::function<void(std::string_view)> sink() {
    return [this](std::string_view line) {
      std::lock_guard lock(mutex);
      lines.emplace_back(line);
    };
  }
  bool contains(const std::string& needle) {
    std::lock_guard lock(mutex);
    for (const auto& l : lines)
      if (l.find(needle) != std::string::npos) return true;
    return false;
  }
};

es::ServerOptions loopback_options(CollectedLog& log) {
  es::ServerOptions o;
  o.host = "127.0.0.1";
  o.port = 0;
  o.keepalive = std::chrono::milliseconds(0);
  o.log = log.sink();
  return o;
}

std::size_t count_of(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + needle.size())) ++n;
  return n;
}

}  // namespace

TEST_CASE("embedded server: check_connection refuses with its status and message") {
  CollectedLog log;
  es::Server server(loopback_options(log));
  std::string seen_authorization;
  server.on_check_connection([&](const es::SubscriberInfo& s) -> std::optional<es::Refusal> {
    if (s.token == "vault") {
      seen_authorization = std::string(s.header("authorization").value_or(""));
      return es::Refusal{401, "Say the password"};
    }
    return std::nullopt;
  });
  server.start();

  RawStream refused(server.port());
  refused.send_get("/poll/vault", {"Authorization: Bearer wrong"});
  REQUIRE(refused.read_until_closed());
  CHECK(refused.head().rfind("HTTP/1.1 401 Unauthorized\r\n", 0) == 0);
  CHECK(refused.head().find("Content-Type: text/plain\r\n") != std::string::npos);
  CHECK(refused.body() == "Say the password\n");
  CHECK(seen_authorization == "Bearer wrong");
  CHECK(server.stats().subscribers == 0);

  RawStream accepted(server.port());
  accepted.send_get("/poll/lobby");
  REQUIRE(accepted.read_until_contains("\r\n\r\n"));
  CHECK(accepted.head().rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(accepted.head().find("Content-Type: text/event-stream\r\n") != std::string::npos);
  server.stop();
}

TEST_CASE("embedded server: a refusal with a non-error status is sent as 403") {
  CollectedLog log;
  es::Server server(loopback_options(log));
  server.on_check_connection([](const es::SubscriberInfo&) { return std::optional<es::Refusal>(es::Refusal{200, "no"}); });
  server.start();
  RawStream s(server.port());
  s.send_get("/poll/a");
  REQUIRE(s.read_until_closed());
  CHECK(s.head().rfind("HTTP/1.1 403 Forbidden\r\n", 0) == 0);
  CHECK(s.body() == "no\n");
}

TEST_CASE("embedded server: on_open and on_close are called once per subscriber") {
  CollectedLog log;
  es::Server server(loopback_options(log));
  std::mutex mutex;
  std::vector<std::pair<std::uint64_t, std::string>> opened;
  std::vector<std::tuple<std::uint64_t, std::string, es::CloseReason>> closed;
  server.on_open([&](const es::SubscriberInfo& s) {
    std::lock_guard lock(mutex);
    opened.emplace_back(s.id, std::string(s.token));
  });
  server.on_close([&](const es::SubscriberInfo& s, es::CloseReason reason) {
    std::lock_guard lock(mutex);
    closed.emplace_back(s.id, std::string(s.token), reason);
  });
  server.start();
  auto opens = [&] { std::lock_guard lock(mutex); return opened.size(); };
  auto closes = [&] { std::lock_guard lock(mutex); return closed.size(); };

  {
    RawStream first(server.port());
    first.send_get("/poll/alpha");
    REQUIRE(wait_until([&] { return opens() == 1; }));
    CHECK(closes() == 0);
  } // the client goes away
  REQUIRE(wait_until([&] { return closes() == 1; }));

  // A second subscriber's open proves the loop has moved on: a duplicate
  // call for the first one would have come before it.
  RawStream second(server.port());
  second.send_get("/poll/beta");
  REQUIRE(wait_until([&] { return opens() == 2; }));
  {
    std::lock_guard lock(mutex);
    CHECK(closed.size() == 1);
    CHECK(std::get<0>(closed[0]) == opened[0].first);
    CHECK(std::get<1>(closed[0]) == "alpha");
    CHECK(std::get<2>(closed[0]) == es::CloseReason::client_closed);
    CHECK(opened[1].first != opened[0].first);
    CHECK(opened[1].second == "beta");
  }

  server.stop();
  std::lock_guard lock(mutex);
  CHECK(opened.size() == 2);
  REQUIRE(closed.size() == 2);
  CHECK(std::get<1>(closed[1]) == "beta");
  CHECK(std::get<2>(closed[1]) == es::CloseReason::server_stopped);
}

TEST_CASE("embedded server: publish from other threads reaches every subscriber in order with increasing ids") {
  CollectedLog log;
  auto options = loopback_options(log);
  options.kind = es::EventKind::string_id_events();
  es::Server server(options);
  server.start();

  RawStream a(server.port()), b(server.port());
  a.send_get("/poll/feed");
  b.send_get("/poll/feed");
  REQUIRE(wait_until([&] { return server.stats().subscribers == 2; }));

  constexpr int per_thread = 200;
  std::vector<std::thread> publishers;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t)
    publishers.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        es::Event e;
        e.name = "tick";
        e.data = std::to_string(t) + "-" + std::to_string(i);
        auto r = server.publish("feed", e);
        if (!r || r.subscribers != 2) ++failures;
      }
    });
  for (auto& p : publishers) p.join();
  CHECK(failures == 0);

  const std::size_t total = 4 * per_thread;
  for (RawStream* s : {&a, &b})
    REQUIRE(s->read_until([&](const std::string& bytes) { return count_of(bytes, "event: tick\n") == total; }));
  // Same bytes in the same order on both streams; ids 1..total in order.
  CHECK(a.body() == b.body());
  std::string expected_ids;
  std::string seen_ids;
  for (std::size_t i = 1; i <= total; ++i) expected_ids += std::to_string(i) + ",";
  const std::string body = a.body();
  for (auto at = body.find("id: "); at != std::string::npos; at = body.find("id: ", at + 1))
    seen_ids += body.substr(at + 4, body.find('\n', at) - at - 4) + ",";
  CHECK(seen_ids == expected_ids);
  // Each thread's own events stay in its order.
  for (int t = 0; t < 4; ++t) {
    std::size_t last = 0;
    for (int i = 0; i < per_thread; ++i) {
      auto at = body.find("data: " + std::to_string(t) + "-" + std::to_string(i) + "\n");
      REQUIRE(at != std::string::npos);
      CHECK(at > last);
      last = at;
    }
  }
  CHECK(server.stats().events_published == total);
  CHECK(wait_until([&] { return server.stats().events_delivered == 2 * total; }));
}

TEST_CASE("embedded server: publish as an action goes through the event kind") {
  CollectedLog log;
  auto options = loopback_options(log);
  options.kind = es::EventKind::json_events();
  es::Server server(options);
  server.start();
  RawStream s(server.port());
  s.send_get("/poll/j");
  REQUIRE(wait_until([&] { return server.stats().subscribers == 1; }));

  auto bad = server.publish("j", "ping", "{not json");
  CHECK(bad.status == es::PublishStatus::bad_data);
  CHECK(bad.message.rfind("Data is not properly formatted: ", 0) == 0);
  auto unknown = server.publish("j", "dance", "{}");
  CHECK(unknown.status == es::PublishStatus::unknown_action);
  CHECK(unknown.message == "Unknown action requested");
  auto nobody = server.publish("elsewhere", "ping", "{}");
  CHECK(nobody.status == es::PublishStatus::not_connected);
  CHECK(nobody.message == "Target is not connected");

  auto ok = server.publish("j", "ping", "{ \"a\" : [1, 2] }");
  REQUIRE(ok);
  CHECK(ok.id.empty());
  CHECK(ok.subscribers == 1);
  REQUIRE(s.read_until_contains("event: ping\ndata: {\"a\":[1,2]}\n\n"));

  // close: the last event, then the stream ends.
  auto close = server.publish("j", "close", "");
  REQUIRE(close);
  CHECK(s.read_until_closed());
  CHECK(s.body().find("event: close\n") != std::string::npos);
  CHECK(wait_until([&] { return server.stats().subscribers == 0; }));
}

TEST_CASE("embedded server: with ids, an event for a token nobody watches is stored and replayed") {
  CollectedLog log;
  auto options = loopback_options(log);
  options.kind = es::EventKind::string_id_events();
  es::Server server(options);
  server.start();
  auto first = server.publish("later", "ping", "one");
  REQUIRE(first);
  CHECK(first.stored);
  CHECK(first.subscribers == 0);
  auto second = server.publish("later", "ping", "two");
  REQUIRE(second);

  RawStream s(server.port());
  s.send_get("/poll/later", {"Last-Event-ID: " + first.id});
  REQUIRE(s.read_until_contains("data: two\n\n"));
  CHECK(s.body() == "id: " + second.id + "\nevent: ping\ndata: two\n\n");
}

namespace {

// Two loops, subscribers of "feed" on each, and loop 1 held inside an
// on_open hook until release(): subscriptions go to the loops in turn, so
// the 2nd and 4th land on loop 1, and the 4th ("hold") holds it.
struct HeldSecondLoop {
  CollectedLog log;
  es::Server server;
  std::mutex mutex;
  std::condition_variable released_cv;
  bool released = false;
  std::atomic<bool> holding{false};
  std::unique_ptr<RawStream> on_home, on_other, filler, holder;

  HeldSecondLoop() : server(options(log)) {
    server.on_open([this](const es::SubscriberInfo& s) {
      if (s.token != "hold") return;
      holding = true;
      std::unique_lock lock(mutex);
      released_cv.wait(lock, [this] { return released; });
    });
    server.start();
    on_home = std::make_unique<RawStream>(server.port());
    on_other = std::make_unique<RawStream>(server.port());
    filler = std::make_unique<RawStream>(server.port());
    holder = std::make_unique<RawStream>(server.port());
    on_home->send_get("/poll/feed");
    REQUIRE(wait_until([&] { return server.stats().subscribers == 1; }));
    on_other->send_get("/poll/feed");
    REQUIRE(wait_until([&] { return server.stats().subscribers == 2; }));
    filler->send_get("/poll/other");
    REQUIRE(wait_until([&] { return server.stats().subscribers == 3; }));
    holder->send_get("/poll/hold");
    if (!wait_until([&] { return holding.load(); })) {
      release();
      FAIL("the holding subscription's on_open did not run");
    }
  }
  ~HeldSecondLoop() {
    release();
    server.stop();
  }
  static es::ServerOptions options(CollectedLog& log) {
    auto o = loopback_options(log);
    o.threads = 2;
    return o;
  }
  void release() {
    {
      std::lock_guard lock(mutex);
      released = true;
    }
    released_cv.notify_all();
  }
};

}  // namespace

TEST_CASE("embedded server: with two loops, a publisher is held back while the other loop cannot write") {
  HeldSecondLoop held;
  constexpr int total = 200;
  std::atomic<int> answered{0};
  std::thread publisher([&] {
    for (int i = 0; i < total; ++i) {
      es::Event e;
      e.data = std::to_string(i);
      if (held.server.publish("feed", e)) ++answered;
    }
  });
  // While loop 1 is held, the publisher gets a window ahead and then waits
  // (without the backpressure over loops it finished at once).
  const bool all_answered_while_held = wait_until([&] { return answered.load() == total; }, 1500ms);
  const int answered_while_held = answered.load();
  held.release();
  publisher.join();
  CHECK_FALSE(all_answered_while_held);
  CHECK(answered_while_held > 0);
  CHECK(answered_while_held <= 40);
  CHECK(answered == total);
  std::string expected;
  for (int i = 0; i < total; ++i) expected += "data: " + std::to_string(i) + "\n\n";
  for (RawStream* s : {held.on_home.get(), held.on_other.get()})
    REQUIRE(s->read_until([&](const std::string& bytes) { return count_of(bytes, "data: ") == total; }));
  CHECK(held.on_other->body().find(expected) != std::string::npos);
  CHECK(held.on_home->body().find(expected) != std::string::npos);
}

TEST_CASE("embedded server: a POST waiting on a held loop when the server stops is answered, not dropped") {
  HeldSecondLoop held;
  // Fill the window: this publisher ends up waiting on loop 1.
  std::atomic<int> answered{0};
  std::thread publisher([&] {
    for (int i = 0; i < 40; ++i) {
      es::Event e;
      e.data = std::to_string(i);
      if (held.server.publish("feed", e)) ++answered;
    }
  });
  REQUIRE(wait_until([&] { return answered.load() > 0; }));
  RawStream post(held.server.port());
  post.send("POST /ping/feed HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nlate");
  CHECK_FALSE(post.read_until_contains("\r\n\r\n", 300ms)); // parked behind loop 1
  // Stopping answers it (the event is stored) without waiting for the
  // held loop or for the grace period to end.
  std::thread stopper([&] { held.server.stop(); });
  const bool answered_while_held = post.read_until_contains("\r\n\r\n", 5s);
  held.release();
  stopper.join();
  publisher.join();
  REQUIRE(answered_while_held);
  CHECK(post.bytes().starts_with("HTTP/1.1 200"));
  CHECK(post.bytes().find("Connection: close") != std::string::npos);
}

TEST_CASE("embedded server: a hook may publish without deadlock") {
  CollectedLog log;
  es::Server server(loopback_options(log));
  server.on_open([&](const es::SubscriberInfo& s) {
    es::Event welcome;
    welcome.name = "welcome";
    welcome.data = std::string(s.token);
    [[maybe_unused]] auto r = server.publish(s.token, welcome);
  });
  server.start();
  RawStream s(server.port());
  s.send_get("/poll/newcomer");
  REQUIRE(s.read_until_contains("event: welcome\ndata: newcomer\n\n"));
}

TEST_CASE("embedded server: stop() flushes and ends streams, and run() returns") {
  CollectedLog log;
  es::Server server(loopback_options(log));
  std::atomic<bool> returned{false};
  std::thread runner([&] {
    server.run();
    returned = true;
  });
  REQUIRE(wait_until([&] { return log.contains("listening on 127.0.0.1:"); }));
  const int port = server.port();

  RawStream s(port);
  s.send_get("/poll/t");
  REQUIRE(wait_until([&] { return server.stats().subscribers == 1; }));
  std::string big(200000, 'x'); // more than a socket buffer takes at once
  es::Event e;
  e.data = big;
  REQUIRE(server.publish("t", e));

  server.stop();
  REQUIRE(wait_until([&] { return returned.load(); }));
  runner.join();
  // The pending event was flushed before the stream ended.
  REQUIRE(s.read_until_closed());
  CHECK(s.body() == "data: " + big + "\n\n");
  CHECK(log.contains("stopped"));

  // Nothing listens any more, and publishing is refused.
  CHECK_THROWS(RawStream(port));
  auto late = server.publish("t", e);
  CHECK(late.status == es::PublishStatus::not_running);
}

// A publisher is answered once the queues written before its event are out
// (docs/server.md, "Publishing"); with 600 subscribers that takes several
// loop turns, so stop() comes while publishers wait. Each must be answered,
// and what was accepted must have reached every stream before it ends.
namespace {
void stop_with_publishers_waiting(bool no_grace) {
  CollectedLog log;
  auto options = loopback_options(log);
  if (no_grace) options.shutdown_grace = std::chrono::milliseconds(0);
  es::Server server(options);
  server.start();
  constexpr std::size_t subscribers = 600;
  std::vector<std::unique_ptr<RawStream>> streams;
  for (std::size_t i = 0; i < subscribers; ++i) {
    streams.push_back(std::make_unique<RawStream>(server.port()));
    streams.back()->send_get("/poll/wide");
  }
  REQUIRE(wait_until([&] { return server.stats().subscribers == subscribers; }));

  std::atomic<std::size_t> accepted{0}, refused{0}, wrong{0}, finished{0};
  std::vector<std::thread> publishers;
  for (int t = 0; t < 4; ++t)
    publishers.emplace_back([&] {
      for (;;) {
        es::Event e;
        e.data = "x";
        const auto r = server.publish("wide", e);
        if (r && r.subscribers == subscribers) {
          ++accepted;
        } else {
          if (r.status == es::PublishStatus::not_running) ++refused; else ++wrong;
          break;
        }
      }
      ++finished;
    });
  REQUIRE(wait_until([&] { return accepted >= 50; }));
  server.stop();
  const bool all_answered = wait_until([&] { return finished == 4; }, 10s);
  for (auto& p : publishers) p.detach(); // a hung publisher must not hang the test as well
  REQUIRE(all_answered);
  CHECK(wrong == 0);
  CHECK(refused == 4);
  CHECK(server.stats().events_published == accepted);
  if (no_grace) return; // streams closed without their last writes
  // About 10 bytes an event: every stream's kernel buffer holds all of them.
  for (auto& s : streams) {
    REQUIRE(s->read_until_closed());
    CHECK(count_of(s->body(), "data: x\n\n") == accepted);
  }
}
}  // namespace

TEST_CASE("embedded server: publishers waiting for a fan-out when stop() comes are all answered, nothing accepted is lost") {
  stop_with_publishers_waiting(false);
}

// Without a grace period the streams are closed with writes still queued:
// the publishers waiting for them must be answered all the same.
TEST_CASE("embedded server: with no shutdown grace, publishers waiting for a fan-out are answered as well") {
  stop_with_publishers_waiting(true);
}

TEST_CASE("embedded server: publish before start is refused") {
  CollectedLog log;
  es::Server server(loopback_options(log));
  auto r = server.publish("t", "ping", "x");
  CHECK(r.status == es::PublishStatus::not_running);
  CHECK(r.message == "Server is not running");
}

TEST_CASE("embedded server: a port in use is reported with the address") {
  CollectedLog log;
  es::Server first(loopback_options(log));
  first.bind();
  auto options = loopback_options(log);
  options.port = first.port();
  es::Server second(options);
  try {
    second.bind();
    FAIL("bind() to a port in use succeeded");
  } catch (const std::system_error& e) {
    CHECK(std::string(e.what()) ==
          "cannot listen on 127.0.0.1:" + std::to_string(first.port()) + ": Address already in use");
  }
}

TEST_CASE("embedded server: options that make no sense are refused at construction") {
  CollectedLog log;
  auto options = loopback_options(log);
  options.workers = 0;
  CHECK_THROWS_WITH_AS(es::Server{options}, "es::Server: workers must be at least 1", std::invalid_argument);
  options = loopback_options(log);
  options.listen_action = "a/b";
  CHECK_THROWS_AS(es::Server{options}, std::invalid_argument);
}

TEST_CASE("embedded server: stats count tokens, subscribers and publishes") {
  CollectedLog log;
  es::Server server(loopback_options(log));
  server.start();
  RawStream a(server.port()), b(server.port()), c(server.port());
  a.send_get("/poll/one");
  b.send_get("/poll/one");
  c.send_get("/poll/two");
  REQUIRE(wait_until([&] { return server.stats().subscribers == 3; }));
  CHECK(server.stats().tokens == 2);
  REQUIRE(server.publish("one", "ping", "x"));
  auto s = server.stats();
  CHECK(s.events_published == 1);
  CHECK(s.slow_disconnects == 0);
  CHECK(s.uptime_seconds >= 0.0);
  CHECK(wait_until([&] { return server.stats().events_delivered == 2; }));
}
