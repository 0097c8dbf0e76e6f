// SPDX-License-Identifier: GPL-3.0-or-later
// eventsource-server, opening a stream: its head, the refusals (--exclusive
// 423, --max-subscribers 503, a wrong listen action 404) and history
// (Last-Event-ID and ?lastEventId= replay, the gap event, --latest, --history-age).
//
// Black box: the real eventsource-server on 127.0.0.1, port 0, real sockets.
// Expectations come from the agreed command line and protocol of the server
// (docs/architecture.md, "Wire format decisions"). Streams are read with
// RawStream (exact bytes, raw_http.hpp); POSTs and plain requests go through
// httplib::Client. Servers (server_process.hpp) run with keepalives off
// (-k 0) unless a test is about keepalives.

#include "raw_http.hpp"
#include "server_process.hpp"

#include <doctest/doctest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

namespace {

using namespace es::test;
using nlohmann::json;

} // namespace

TEST_CASE("server: a subscription is answered 200 with its stream headers at once, before any event") {
  Server srv;
  INFO("server log:\n" << srv.log());
  RawStream s(srv.port());
  // A gzip-accepting client must still get an uncompressed, unchunked stream.
  s.send_get("/poll/T", {"Accept: text/event-stream", "Accept-Encoding: gzip, deflate, br"});
  REQUIRE(s.read_until_contains("\r\n\r\n", 5s));
  const std::string head = s.head();
  CHECK(head.starts_with("HTTP/1.1 200 OK\r\n"));
  CHECK(header(head, "Content-Type") == "text/event-stream");
  CHECK(header(head, "Cache-Control") == "no-cache");
  CHECK(header(head, "X-Accel-Buffering") == "no");
  CHECK_FALSE(header(head, "Transfer-Encoding").has_value());
  CHECK_FALSE(header(head, "Content-Encoding").has_value());
  CHECK_FALSE(header(head, "Content-Length").has_value());
  CHECK(s.body().empty());
  CHECK_FALSE(s.closed());
}

TEST_CASE("server: --exclusive answers a second subscriber with 423 'Token is already in use' until the first leaves") {
  Server srv({"--exclusive"});
  INFO("server log:\n" << srv.log());
  auto first = srv.subscribe("/poll/T");
  auto refused = raw_get_response(srv.port(), "/poll/T");
  CHECK(refused.status == 423);
  CHECK(refused.head.starts_with("HTTP/1.1 423 Locked\r\n"));
  CHECK(header(refused.head, "Content-Type").value_or("").starts_with("text/plain"));
  CHECK(refused.body == "Token is already in use\n");

  auto other_token = srv.subscribe("/poll/U"); // other tokens are free

  auto res = srv.post("/ping/T", "only one");
  REQUIRE_RESPONSE(res);
  CHECK(json::parse(res->body) == json{{"id", nullptr}, {"subscribers", 1}});
  REQUIRE(read_events(*first, 1));

  first->close();
  std::unique_ptr<RawStream> second;
  CHECK(wait_until([&] {
    auto s = std::make_unique<RawStream>(srv.port());
    s->send_get("/poll/T");
    if (!s->read_until_contains("\r\n\r\n", 5s) || !s->head().starts_with("HTTP/1.1 200")) return false;
    second = std::move(s);
    return true;
  }));
  REQUIRE(second);
  REQUIRE_RESPONSE(srv.post("/ping/T", "next"));
  REQUIRE(read_events(*second, 1));
  CHECK(second->body() == wire("ping", "next"));
}

TEST_CASE("server: past --max-subscribers a subscriber is answered 503 'Too many subscribers'") {
  Server srv({"--max-subscribers", "2"});
  INFO("server log:\n" << srv.log());
  auto a = srv.subscribe("/poll/A");
  auto b = srv.subscribe("/poll/B");
  auto refused = raw_get_response(srv.port(), "/poll/C");
  CHECK(refused.status == 503);
  CHECK(header(refused.head, "Content-Type").value_or("").starts_with("text/plain"));
  CHECK(refused.body == "Too many subscribers\n");
  auto same_token = raw_get_response(srv.port(), "/poll/A");
  CHECK(same_token.status == 503);

  a->close();
  std::unique_ptr<RawStream> c;
  CHECK(wait_until([&] {
    auto s = std::make_unique<RawStream>(srv.port());
    s->send_get("/poll/C");
    if (!s->read_until_contains("\r\n\r\n", 5s) || !s->head().starts_with("HTTP/1.1 200")) return false;
    c = std::move(s);
    return true;
  }));
  REQUIRE(c);
  REQUIRE_RESPONSE(srv.post("/ping/C", "in"));
  REQUIRE(read_events(*c, 1));
  CHECK(c->body() == wire("ping", "in"));
}

TEST_CASE("server: a GET with another action than the listen action is 404 naming the listen action") {
  SUBCASE("default listen action") {
    Server srv;
    INFO("server log:\n" << srv.log());
    auto r = raw_get_response(srv.port(), "/other/T");
    CHECK(r.status == 404);
    CHECK(header(r.head, "Content-Type").value_or("").starts_with("text/plain"));
    CHECK(r.body == "Unknown listen action: subscribe with GET /poll/TOKEN\n");
  }
  SUBCASE("--listen-action listen") {
    Server srv({"--listen-action", "listen"});
    INFO("server log:\n" << srv.log());
    auto r = raw_get_response(srv.port(), "/poll/T");
    CHECK(r.status == 404);
    CHECK(r.body == "Unknown listen action: subscribe with GET /listen/TOKEN\n");
    auto s = srv.subscribe("/listen/T");
    REQUIRE_RESPONSE(srv.post("/ping/T", "via listen"));
    REQUIRE(read_events(*s, 1));
    CHECK(s->body() == wire("ping", "via listen"));
  }
}

TEST_CASE("server: Last-Event-ID replays the events after that id, then the stream goes on") {
  Server srv({"-i"});
  INFO("server log:\n" << srv.log());
  auto live = srv.subscribe("/poll/T");
  for (const char* body : {"a", "b", "c"}) REQUIRE_RESPONSE(srv.post("/ping/T", body));
  REQUIRE(read_events(*live, 3));
  auto resumed = srv.subscribe("/poll/T", {"Last-Event-ID: 1"});
  REQUIRE(read_events(*resumed, 2));
  CHECK(resumed->body() == wire("ping", "b", "2") + wire("ping", "c", "3"));
  auto res = srv.post("/ping/T", "d");
  REQUIRE_RESPONSE(res);
  CHECK(json::parse(res->body) == json{{"id", "4"}, {"subscribers", 2}});
  REQUIRE(read_events(*resumed, 3));
  CHECK(resumed->body() == wire("ping", "b", "2") + wire("ping", "c", "3") + wire("ping", "d", "4"));
  // The latest id: nothing to replay.
  auto current = srv.subscribe("/poll/T", {"Last-Event-ID: 4"});
  REQUIRE_RESPONSE(srv.post("/ping/T", "e"));
  REQUIRE(read_events(*current, 1));
  CHECK(current->body() == wire("ping", "e", "5"));
}

TEST_CASE("server: ?lastEventId= replays as the Last-Event-ID header does") {
  Server srv({"-i"});
  INFO("server log:\n" << srv.log());
  for (const char* body : {"a", "b", "c"}) {
    auto res = srv.post("/ping/T", body);
    REQUIRE_RESPONSE(res);
    CHECK(res->status == 202);
  }
  auto resumed = srv.subscribe("/poll/T?lastEventId=2");
  REQUIRE(read_events(*resumed, 1));
  CHECK(resumed->body() == wire("ping", "c", "3"));
}

TEST_CASE("server: an id no longer in history is told by a gap event, then all the history there is") {
  Server srv({"-i", "--history", "2"});
  INFO("server log:\n" << srv.log());
  auto live = srv.subscribe("/poll/T");
  for (const char* body : {"1", "2", "3", "4", "5"}) REQUIRE_RESPONSE(srv.post("/ping/T", body));
  REQUIRE(read_events(*live, 5));
  SUBCASE("an id that fell out of history") {
    auto resumed = srv.subscribe("/poll/T", {"Last-Event-ID: 1"});
    REQUIRE(read_events(*resumed, 3));
    CHECK(resumed->body() == "event: gap\ndata: 1\n\n" + wire("ping", "4", "4") + wire("ping", "5", "5"));
  }
  SUBCASE("an id the server never gave") {
    auto resumed = srv.subscribe("/poll/T", {"Last-Event-ID: from-before-a-restart"});
    REQUIRE(read_events(*resumed, 3));
    CHECK(resumed->body() ==
          "event: gap\ndata: from-before-a-restart\n\n" + wire("ping", "4", "4") + wire("ping", "5", "5"));
  }
  SUBCASE("the query form") {
    auto resumed = srv.subscribe("/poll/T?lastEventId=2");
    REQUIRE(read_events(*resumed, 3));
    CHECK(resumed->body() == "event: gap\ndata: 2\n\n" + wire("ping", "4", "4") + wire("ping", "5", "5"));
  }
}

TEST_CASE("server: a new subscriber without Last-Event-ID gets no history") {
  Server srv({"-i"});
  INFO("server log:\n" << srv.log());
  for (const char* body : {"old 1", "old 2"}) REQUIRE_RESPONSE(srv.post("/ping/T", body));
  auto s = srv.subscribe("/poll/T");
  auto res = srv.post("/ping/T", "new");
  REQUIRE_RESPONSE(res);
  CHECK(res->status == 200);
  REQUIRE(read_events(*s, 1));
  CHECK(s->body() == wire("ping", "new", "3"));
}

TEST_CASE("server: --latest sends a new subscriber the latest stored event first") {
  Server srv({"-i", "--latest"});
  INFO("server log:\n" << srv.log());
  for (const char* body : {"older", "latest"}) REQUIRE_RESPONSE(srv.post("/ping/T", body));
  auto s = srv.subscribe("/poll/T");
  REQUIRE(read_events(*s, 1));
  REQUIRE_RESPONSE(srv.post("/ping/T", "live"));
  REQUIRE(read_events(*s, 2));
  CHECK(s->body() == wire("ping", "latest", "2") + wire("ping", "live", "3"));
  // With Last-Event-ID the replay alone counts: no repeated latest event.
  auto resumed = srv.subscribe("/poll/T", {"Last-Event-ID: 1"});
  REQUIRE(read_events(*resumed, 2));
  CHECK(resumed->body() == wire("ping", "latest", "2") + wire("ping", "live", "3"));
}

TEST_CASE("server: --latest without ids sends a new subscriber the token's latest event first") {
  Server srv({"--latest"});
  INFO("server log:\n" << srv.log());
  auto first = srv.subscribe("/poll/T");
  for (const char* body : {"older", "latest"}) REQUIRE_RESPONSE(srv.post("/ping/T", body));
  REQUIRE(read_events(*first, 2));
  auto late = srv.subscribe("/poll/T");
  REQUIRE(read_events(*late, 1));
  REQUIRE_RESPONSE(srv.post("/ping/T", "live"));
  REQUIRE(read_events(*late, 2));
  CHECK(late->body() == wire("ping", "latest") + wire("ping", "live"));
}

TEST_CASE("server: events older than --history-age are no longer replayed") {
  Server srv({"-i", "--history-age", "1"});
  INFO("server log:\n" << srv.log());
  for (const char* body : {"a", "b"}) REQUIRE_RESPONSE(srv.post("/ping/T", body));
  // Resuming from id 1 first replays b; once b is older than a second, the
  // resumed subscriber is told of the gap instead.
  std::unique_ptr<RawStream> resumed;
  CHECK(wait_until(
      [&] {
        auto s = srv.subscribe("/poll/T", {"Last-Event-ID: 1"});
        if (!read_events(*s, 1, 5s)) return false;
        if (!s->body().starts_with("event: gap\n")) {
          s.reset();
          std::this_thread::sleep_for(100ms);
          return false;
        }
        resumed = std::move(s);
        return true;
      },
      10s));
  REQUIRE(resumed);
  REQUIRE_RESPONSE(srv.post("/ping/T", "c"));
  REQUIRE(read_events(*resumed, 2));
  CHECK(resumed->body() == "event: gap\ndata: 1\n\n" + wire("ping", "c", "3"));
}

namespace {

// Under AddressSanitizer (scripts/dev sanitize) freed memory waits in a
// quarantine of up to 256 MB and stays resident, and the shadow memory of
// ASan and ThreadSanitizer adds more: a bound on resident memory would
// measure the sanitizer, not the server.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool under_sanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool under_sanitizer = true;
#else
constexpr bool under_sanitizer = false;
#endif
#else
constexpr bool under_sanitizer = false;
#endif

/// Resident memory of a process, in bytes (VmRSS of /proc/PID/status).
std::size_t resident_bytes(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6)) * 1024;
  return 0;
}

} // namespace

TEST_CASE("server: --history-memory bounds what POSTs to unwatched tokens keep, the oldest go first and resume with a gap") {
  const std::size_t budget = 8 << 20;
  Server srv({"-i", "--history-memory", std::to_string(budget)});
  INFO("server log:\n" << srv.log());
  const std::size_t idle = resident_bytes(srv.process().pid());
  REQUIRE(idle > 0);
  const std::string body(200'000, 'm');
  for (int i = 0; i < 150; ++i) { // 30 MB to 150 tokens nobody watches
    auto res = srv.post("/ping/t" + std::to_string(i), body);
    REQUIRE_RESPONSE(res);
    REQUIRE(res->status == 202);
  }
  const json stats = srv.stats();
  CHECK(stats["history_bytes"].get<std::size_t>() <= budget);
  CHECK(stats["history_bytes"].get<std::size_t>() > budget / 2);
  CHECK(stats["history_evictions"].get<std::size_t>() > 0);
  // Kept within the budget, plus the allocator's slack.
  if (!under_sanitizer) CHECK(resident_bytes(srv.process().pid()) < idle + budget + (16 << 20));

  // The newest event is still there; the oldest token's is gone.
  auto newest = srv.subscribe("/poll/t149", {"Last-Event-ID: 150"});
  auto oldest = srv.subscribe("/poll/t0", {"Last-Event-ID: 1"});
  REQUIRE(read_events(*oldest, 1));
  CHECK(oldest->body() == wire("gap", "1"));
  auto probe = srv.post("/ping/t149", "after");
  REQUIRE_RESPONSE(probe);
  REQUIRE(read_events(*newest, 1));
  CHECK(newest->body() == wire("ping", "after", "151"));
}
