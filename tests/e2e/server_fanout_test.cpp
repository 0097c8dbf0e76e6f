// SPDX-License-Identifier: GPL-3.0-or-later
// eventsource-server, fan-out and load: identical bytes for every subscriber,
// keepalive comments, a slow consumer cut off, concurrent publishers, a
// fan-out spanning several loop turns, vanishing subscribers, a burst of
// subscribers.
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

#include <atomic>
#include <ctime>
#include <exception>
#include <iterator>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <sys/socket.h>

namespace {

using namespace es::test;
using nlohmann::json;

} // namespace

TEST_CASE("server: fan-out: every subscriber of a token receives identical bytes, other tokens nothing") {
  Server srv({"-i"});
  INFO("server log:\n" << srv.log());
  std::vector<std::unique_ptr<RawStream>> subs;
  for (int i = 0; i < 3; ++i) subs.push_back(srv.subscribe("/poll/T"));
  auto other = srv.subscribe("/poll/U");
  std::string expected;
  const std::vector<std::string> bodies{"first", "two\nlines", "third\r\nwith crlf", "4", "fifth"};
  for (size_t i = 0; i < bodies.size(); ++i) {
    auto res = srv.post("/ping/T", bodies[i]);
    REQUIRE_RESPONSE(res);
    CHECK(json::parse(res->body) == json{{"id", std::to_string(i + 1)}, {"subscribers", 3}});
  }
  expected = wire("ping", "first", "1") + "id: 2\nevent: ping\ndata: two\ndata: lines\n\n" +
             "id: 3\nevent: ping\ndata: third\ndata: with crlf\n\n" + wire("ping", "4", "4") + wire("ping", "fifth", "5");
  for (auto& s : subs) {
    REQUIRE(read_events(*s, bodies.size()));
    CHECK(s->body() == expected);
  }
  auto res = srv.post("/ping/U", "only U");
  REQUIRE_RESPONSE(res);
  CHECK(json::parse(res->body) == json{{"id", "6"}, {"subscribers", 1}});
  REQUIRE(read_events(*other, 1));
  CHECK(other->body() == wire("ping", "only U", "6"));
}

TEST_CASE("server: keepalive comments ': keepalive <unix time>' arrive every -k milliseconds, between whole events") {
  Server srv({"-k", "100"});
  INFO("server log:\n" << srv.log());
  auto s = srv.subscribe("/poll/T");
  const std::regex keepalive(R"(: keepalive (\d+)\n\n)");
  auto count_keepalives = [&](const std::string& body) {
    return static_cast<size_t>(
        std::distance(std::sregex_iterator(body.begin(), body.end(), keepalive), std::sregex_iterator()));
  };
  REQUIRE(s->read_until([&](const std::string&) { return count_keepalives(s->body()) >= 3; }, 10s));
  REQUIRE_RESPONSE(srv.post("/ping/T", "between"));
  REQUIRE(s->read_until(
      [&](const std::string&) {
        const std::string body = s->body();
        size_t at = body.find(wire("ping", "between"));
        return at != std::string::npos && count_keepalives(body.substr(at)) >= 2;
      },
      10s));
  const std::string body = s->body();
  // The stream is keepalive blocks and the one event, nothing else.
  std::string rest = std::regex_replace(body, keepalive, "");
  CHECK(rest == wire("ping", "between"));
  const auto now = static_cast<long long>(std::time(nullptr));
  for (auto it = std::sregex_iterator(body.begin(), body.end(), keepalive); it != std::sregex_iterator(); ++it) {
    long long t = std::stoll((*it)[1].str());
    CHECK(t > now - 120);
    CHECK(t <= now + 5);
  }
}

TEST_CASE("server: a subscriber that stops reading is cut off past --max-queue and counted, the others get every event") {
  Server srv({"--max-queue", "1048576"});
  INFO("server log:\n" << srv.log());
  auto slow = srv.subscribe("/poll/T");
  auto good1 = srv.subscribe("/poll/T");
  auto good2 = srv.subscribe("/poll/T");

  constexpr size_t kEvents = 1000;
  constexpr size_t kBatch = 32; // 32 x 16 KiB stays below --max-queue for a reader that keeps up
  auto body_of = [](size_t i) {
    std::string b = "event-" + std::to_string(i) + "-";
    b.resize(16 * 1024, static_cast<char>('a' + i % 26));
    return b;
  };
  std::string expected;
  for (size_t i = 0; i < kEvents; ++i) expected += wire("ping", body_of(i));

  std::atomic<size_t> got1{0}, got2{0};
  bool done1 = false, done2 = false;
  {
    std::jthread reader1([&] {
      EventCounter c;
      done1 = good1->read_until([&](const std::string& b) { return (got1 = c.update(b)) >= kEvents; }, 120s);
    });
    std::jthread reader2([&] {
      EventCounter c;
      done2 = good2->read_until([&](const std::string& b) { return (got2 = c.update(b)) >= kEvents; }, 120s);
    });
    auto client = srv.client();
    client.set_keep_alive(true);
    for (size_t i = 0; i < kEvents; ++i) {
      auto res = client.Post("/ping/T", body_of(i), "text/plain");
      REQUIRE_RESPONSE(res);
      REQUIRE(res->status == 200);
      if ((i + 1) % kBatch == 0 || i + 1 == kEvents) {
        REQUIRE_MESSAGE(wait_until([&] { return got1 > i && got2 > i; }, 60s),
                        "readers behind after event " << i << ": " << got1 << ", " << got2);
      }
    }
  }
  CHECK(done1);
  CHECK(done2);
  CHECK(good1->body() == expected);
  CHECK(good2->body() == expected);
  CHECK_FALSE(good1->closed());
  CHECK_FALSE(good2->closed());

  CHECK(wait_until([&] { return srv.stats()["slow_disconnects"] == 1; }, 10s));
  CHECK(srv.stats()["subscribers"] == 2);
  // What the slow subscriber got before being cut off is a prefix of the stream.
  REQUIRE(slow->read_until_closed(60s));
  const std::string slow_body = slow->body();
  CHECK(slow_body.size() < expected.size());
  CHECK(expected.compare(0, slow_body.size(), slow_body) == 0);
}

// Bodies "T-N": event N of publisher T.
std::string publisher_body(int t, int n) { return std::to_string(t) + "-" + std::to_string(n); }

// `threads` keep-alive clients each POST `per_thread` bodies to `path` at
// once, each waiting for its answer; `answer(t, n, result)` sees every one.
template <typename Answer>
void post_concurrently(const Server& srv, const std::string& path, int threads, int per_thread, Answer answer) {
  std::vector<std::jthread> publishers;
  for (int t = 0; t < threads; ++t) {
    publishers.emplace_back([&, t] {
      auto client = srv.client();
      client.set_keep_alive(true);
      for (int n = 0; n < per_thread; ++n) answer(t, n, client.Post(path, publisher_body(t, n), "text/plain"));
    });
  }
}

// Ids increase along the stream, and each publisher's events keep its order
// (each waits for its answer before sending the next).
void check_ids_increase_and_publishers_keep_order(const std::vector<WireEvent>& stream, int threads) {
  unsigned long long previous = 0;
  std::vector<int> next_of_thread(static_cast<size_t>(threads), 0);
  for (const WireEvent& e : stream) {
    CAPTURE(e.id);
    CAPTURE(e.data);
    const unsigned long long id = std::stoull(e.id);
    CHECK(id > previous);
    previous = id;
    const int t = std::stoi(e.data.substr(0, e.data.find('-')));
    const int n = std::stoi(e.data.substr(e.data.find('-') + 1));
    CHECK(n == next_of_thread[static_cast<size_t>(t)]);
    next_of_thread[static_cast<size_t>(t)] = n + 1;
  }
}

TEST_CASE("server: 1,000 concurrent POSTs to one token reach every subscriber complete, in one order, with increasing ids") {
  Server srv({"-i"});
  INFO("server log:\n" << srv.log());
  constexpr int kThreads = 10;
  constexpr int kPerThread = 100;
  constexpr size_t kTotal = kThreads * kPerThread;
  std::vector<std::unique_ptr<RawStream>> subs;
  for (int i = 0; i < 3; ++i) subs.push_back(srv.subscribe("/poll/T"));

  struct Answer {
    int status = 0;
    std::string body;
  };
  std::vector<std::vector<Answer>> answers(kThreads, std::vector<Answer>(kPerThread));
  std::vector<char> complete(subs.size(), 0); // not vector<bool>: one element per thread
  {
    std::vector<std::jthread> readers;
    for (size_t i = 0; i < subs.size(); ++i) {
      readers.emplace_back([&, i] {
        EventCounter c;
        complete[i] = subs[i]->read_until([&](const std::string& b) { return c.update(b) >= kTotal; }, 120s);
      });
    }
    post_concurrently(srv, "/ping/T", kThreads, kPerThread, [&](int t, int n, const httplib::Result& res) {
      if (res) answers[t][n] = {res->status, res->body};
    });
  }
  std::map<std::string, std::string> id_of_body; // from the POST answers
  for (int t = 0; t < kThreads; ++t) {
    for (int n = 0; n < kPerThread; ++n) {
      const Answer& a = answers[t][n];
      CAPTURE(t);
      CAPTURE(n);
      REQUIRE(a.status == 200);
      json j = json::parse(a.body);
      CHECK(j["subscribers"] == 3);
      REQUIRE(j["id"].is_string());
      id_of_body[publisher_body(t, n)] = j["id"].get<std::string>();
    }
  }
  std::set<std::string> distinct_ids;
  for (auto& [body, id] : id_of_body) distinct_ids.insert(id);
  CHECK(distinct_ids.size() == kTotal);

  std::vector<std::vector<WireEvent>> seen;
  for (size_t i = 0; i < subs.size(); ++i) {
    CHECK(complete[i]);
    seen.push_back(parse_events(subs[i]->body()));
    REQUIRE(seen.back().size() == kTotal);
  }
  CHECK(seen[1] == seen[0]);
  CHECK(seen[2] == seen[0]);

  check_ids_increase_and_publishers_keep_order(seen[0], kThreads);
  std::set<std::string> bodies;
  for (const WireEvent& e : seen[0]) {
    CAPTURE(e.data);
    CHECK(e.name == "ping");
    CHECK(id_of_body[e.data] == e.id);
    bodies.insert(e.data);
  }
  CHECK(bodies.size() == kTotal);
}

// The loop writes a bounded number of queues per turn (128), so a fan-out
// to 500 subscribers spans several turns and the publishes arriving
// meanwhile land in queues half of which are written and half not: the
// case where one write carries several events.
TEST_CASE("server: events published during a fan-out spanning several loop turns reach all 500 subscribers once, in one order") {
  Server srv({"-i"});
  INFO("server log:\n" << srv.log());
  constexpr size_t kSubscribers = 500;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50;
  constexpr size_t kTotal = kThreads * kPerThread;
  std::vector<std::unique_ptr<RawStream>> subs;
  for (size_t i = 0; i < kSubscribers; ++i) subs.push_back(srv.subscribe("/poll/wide"));

  std::vector<std::vector<int>> statuses(kThreads, std::vector<int>(kPerThread, 0));
  post_concurrently(srv, "/ping/wide", kThreads, kPerThread, [&](int t, int n, const httplib::Result& res) {
    if (res && json::parse(res->body).value("subscribers", 0) == static_cast<int>(kSubscribers))
      statuses[t][n] = res->status;
  });
  for (const auto& thread : statuses)
    for (int status : thread) REQUIRE(status == 200);

  // About 6 KB per stream: the kernel holds it all, so read one after another.
  std::vector<WireEvent> first;
  for (size_t i = 0; i < kSubscribers; ++i) {
    CAPTURE(i);
    EventCounter c;
    REQUIRE(subs[i]->read_until([&](const std::string& b) { return c.update(b) >= kTotal; }, 30s));
    const auto seen = parse_events(subs[i]->body());
    REQUIRE(seen.size() == kTotal);
    if (i == 0) {
      first = seen;
      continue;
    }
    CHECK(seen == first);
  }
  check_ids_increase_and_publishers_keep_order(first, kThreads);
}

TEST_CASE("server: subscribers that vanish (reset or closed) do not disturb the others") {
  Server srv;
  INFO("server log:\n" << srv.log());
  auto reset = srv.subscribe("/poll/T");
  auto closed = srv.subscribe("/poll/T");
  auto stays = srv.subscribe("/poll/T");
  linger abort_on_close{1, 0}; // close() sends RST
  ::setsockopt(reset->fd(), SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close);
  reset->close();
  closed->close();

  std::string expected;
  int ticks = 0;
  CHECK(wait_until([&] {
    std::string body = "tick " + std::to_string(ticks++);
    auto res = srv.post("/ping/T", body);
    if (!res || res->status != 200) return false;
    expected += wire("ping", body);
    return srv.stats()["subscribers"] == 1;
  }, 10s));
  REQUIRE_RESPONSE(srv.post("/ping/T", "last"));
  expected += wire("ping", "last");
  REQUIRE(stays->read_until_contains("data: last\n\n"));
  CHECK(stays->body() == expected);
  CHECK(srv.process().running());
}

TEST_CASE("server: a burst of 1,000 subscribers connecting at once all get their streams and every event") {
  Server srv;
  INFO("server log:\n" << srv.log());
  constexpr int kThreads = 10;
  constexpr int kPerThread = 100;
  std::vector<std::vector<std::unique_ptr<RawStream>>> streams(kThreads);
  std::vector<std::string> failures(kThreads);
  {
    std::vector<std::jthread> connectors;
    for (int t = 0; t < kThreads; ++t) {
      connectors.emplace_back([&, t] {
        try {
          for (int i = 0; i < kPerThread; ++i) {
            streams[t].push_back(std::make_unique<RawStream>(srv.port()));
            streams[t].back()->send_get("/poll/burst");
          }
        } catch (const std::exception& e) {
          failures[t] = e.what();
        }
      });
    }
  }
  for (const auto& f : failures) CHECK(f.empty());
  size_t opened = 0;
  for (auto& group : streams) {
    for (auto& s : group) {
      if (s->read_until_contains("\r\n\r\n", 10s) && s->head().starts_with("HTTP/1.1 200")) ++opened;
    }
  }
  REQUIRE(opened == kThreads * kPerThread);
  for (const char* body : {"one", "two", "three"}) {
    auto res = srv.post("/ping/burst", body);
    REQUIRE_RESPONSE(res);
    CHECK(json::parse(res->body) == json{{"id", nullptr}, {"subscribers", kThreads * kPerThread}});
  }
  const std::string expected = wire("ping", "one") + wire("ping", "two") + wire("ping", "three");
  size_t complete = 0;
  for (auto& group : streams) {
    for (auto& s : group) {
      if (s->read_until_contains("data: three\n\n", 10s) && s->body() == expected) ++complete;
    }
  }
  CHECK(complete == kThreads * kPerThread);
}

// Several event loops, both ways of sharing connections: whichever loop
// serves a subscriber and whichever reads a POST, every stream of a token
// gets every event once, in one order, with the same ids; --exclusive and
// --max-subscribers count over the loops.
TEST_CASE("server: with 3 event loops, spread or reuseport, 30 subscribers get 60 events from 3 publishers in one order") {
  for (const char* mode : {"spread", "reuseport"}) {
    CAPTURE(mode);
    Server srv({"--threads", "3", "--accept", mode, "-i"});
    INFO("server log:\n" << srv.log());
    CHECK(srv.log().find(std::string("--accept ") + mode) != std::string::npos);
    std::vector<std::unique_ptr<RawStream>> subs;
    for (int i = 0; i < 30; ++i) subs.push_back(srv.subscribe("/poll/T"));
    std::vector<std::thread> publishers;
    for (int p = 0; p < 3; ++p)
      publishers.emplace_back([&srv, p] {
        auto client = srv.client();
        for (int i = 0; i < 20; ++i) {
          auto res = client.Post("/ping/T", "p" + std::to_string(p) + "-" + std::to_string(i), "text/plain");
          REQUIRE_RESPONSE(res);
          CHECK(res->status == 200);
          CHECK(res->body.find("\"subscribers\":30") != std::string::npos);
        }
      });
    for (auto& t : publishers) t.join();
    for (auto& s : subs) REQUIRE(read_events(*s, 60));
    const std::string first = subs.front()->body();
    for (auto& s : subs) CHECK(s->body() == first);
    const auto events = parse_events(first);
    REQUIRE(events.size() == 60);
    for (std::size_t i = 1; i < events.size(); ++i) CHECK(std::stoull(events[i].id) > std::stoull(events[i - 1].id));
    CHECK(srv.stats()["subscribers"] == 30);
  }
  for (const char* mode : {"spread", "reuseport"}) {
    CAPTURE(mode);
    Server srv({"--threads", "3", "--accept", mode, "--exclusive", "--max-subscribers", "4"});
    INFO("server log:\n" << srv.log());
    auto only = srv.subscribe("/poll/X");
    for (int i = 0; i < 3; ++i) {
      auto second = raw_get_response(srv.port(), "/poll/X");
      CHECK(second.status == 423);
    }
    std::vector<std::unique_ptr<RawStream>> others;
    for (const char* token : {"A", "B", "C"}) others.push_back(srv.subscribe(std::string("/poll/") + token));
    CHECK(raw_get_response(srv.port(), "/poll/D").status == 503);
  }
}
