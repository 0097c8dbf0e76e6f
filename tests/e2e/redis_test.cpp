// SPDX-License-Identifier: GPL-3.0-or-later
// eventsource-server with --redis (issue 10): several servers share one
// Redis, each token's events are the Redis stream PREFIX+TOKEN; what one
// server or an outside program (redis-cli XADD, PUBLISH) publishes reaches
// the subscribers on every server, in one order, with the same ids; clients
// resume on any server; outages of Redis or of a server lose nothing that
// was accepted and are answered 503 while they last.
//
// Black box: real eventsource-server processes on 127.0.0.1, port 0, and a
// real redis-server (redis_process.hpp) on a unix socket in a temporary
// directory (on 127.0.0.1 too where a test needs a redis:// URL). Streams
// are read with RawStream (exact bytes, raw_http.hpp). Servers run with
// keepalives off (-k 0) unless a test is about keepalives.
//
// One assumption beyond the spec: a POST (or XADD, or PUBLISH) made after a
// stream's response head has arrived reaches that stream, on whichever server
// it is, as it does without Redis.

#include "raw_http.hpp"
#include "redis_process.hpp"
#include "server_process.hpp"

#include <doctest/doctest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

using namespace es::test;
using nlohmann::json;

std::vector<std::string> with_redis(const std::string& url, std::vector<std::string> options = {}) {
  options.insert(options.begin(), {"--redis", url});
  return options;
}

std::vector<std::string> with_redis(const RedisServer& redis, std::vector<std::string> options = {}) {
  return with_redis(redis.url(), std::move(options));
}

/// The type a browser dispatches an event as: its name, or "message" (WHATWG) without one.
std::string type_of(const WireEvent& e) { return e.name.empty() ? "message" : e.name; }

/// A Redis stream entry id: MILLISECONDS-SEQUENCE.
bool is_entry_id(const std::string& id) {
  static const std::regex form(R"(\d+-\d+)");
  return std::regex_match(id, form);
}

std::pair<std::uint64_t, std::uint64_t> entry_id_parts(const std::string& id) {
  const auto dash = id.find('-');
  return {std::stoull(id.substr(0, dash)), std::stoull(id.substr(dash + 1))};
}

bool entry_id_less(const std::string& a, const std::string& b) { return entry_id_parts(a) < entry_id_parts(b); }

size_t count_of(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + needle.size())) ++n;
  return n;
}

struct Entry {
  std::string id;
  std::map<std::string, std::string> fields;
};

/// XRANGE KEY - + as read by redis-cli (values without line breaks only).
std::vector<Entry> xrange(const RedisServer& redis, const std::string& key) {
  std::vector<Entry> entries;
  const std::string out = redis.cli({"XRANGE", key, "-", "+"});
  std::vector<std::string> lines;
  for (size_t start = 0; start < out.size();) {
    size_t end = out.find('\n', start);
    if (end == std::string::npos) end = out.size();
    lines.push_back(out.substr(start, end - start));
    start = end + 1;
  }
  for (size_t i = 0; i < lines.size();) {
    // Field names are never entry ids: at a field's place an id starts the next entry.
    if (is_entry_id(lines[i])) {
      entries.push_back({lines[i], {}});
      ++i;
    } else if (!entries.empty() && i + 1 < lines.size()) {
      entries.back().fields[lines[i]] = lines[i + 1];
      i += 2;
    } else {
      break;
    }
  }
  return entries;
}

/// The id of POST's JSON answer; requires 200 or 202 and a string id.
std::string posted_id(const Server& srv, const std::string& path, const std::string& body) {
  auto res = srv.post(path, body);
  REQUIRE_RESPONSE(res);
  INFO("POST " << path << " answered " << res->status << ": " << res->body);
  REQUIRE((res->status == 200 || res->status == 202));
  const json answer = json::parse(res->body);
  REQUIRE(answer["id"].is_string());
  return answer["id"].get<std::string>();
}

/// What became of one publish made until it was accepted.
struct Accepted {
  std::string data;
  std::string id;
  int status = 0;        // the last answer's status (0: no answer)
  int refusals = 0;      // 503 answers before it was accepted
  bool ambiguous = false; // answered 503, yet found in Redis (its connection was killed mid-command)
};

/// POSTs `data` to `path` until it is accepted (200/202), for tests that cut
/// Redis connections meanwhile: a 503 means not accepted, so the same data is
/// posted again; only if Redis holds it after all (the reply was lost with
/// the connection) is it taken as accepted, with the id Redis gave it.
/// Safe on any thread: no doctest assertions.
Accepted post_until_accepted(const Server& srv, const RedisServer& redis, const std::string& key,
                             const std::string& path, const std::string& data) {
  Accepted a;
  a.data = data;
  wait_until(
      [&] {
        auto res = srv.post(path, data);
        if (!res) return false;
        a.status = res->status;
        if (res->status == 200 || res->status == 202) {
          const json answer = json::parse(res->body, nullptr, false);
          if (answer.is_object() && answer["id"].is_string()) a.id = answer["id"].get<std::string>();
          return true;
        }
        if (res->status != 503) return true; // a wrong answer: the caller checks status
        ++a.refusals;
        try {
          for (const Entry& e : xrange(redis, key)) {
            auto it = e.fields.find("data");
            if (it != e.fields.end() && it->second == data) {
              a.id = e.id;
              a.ambiguous = true;
              return true;
            }
          }
        } catch (const std::exception&) {
          // Redis not answering either: post again.
        }
        return false;
      },
      30s);
  return a;
}

std::string health_of(const Server& srv, int& status) {
  auto res = srv.get("/health");
  status = res ? res->status : 0;
  return res ? res->body : std::string();
}

int health_status(const Server& srv) {
  int status = 0;
  health_of(srv, status);
  return status;
}

} // namespace

TEST_CASE("redis: the test fixture runs redis-server - PING, appendonly data kept over a restart and a kill -9, client kill") {
  RedisServer redis(RedisOptions::durable());
  INFO("redis log:\n" << redis.log());
  CHECK(redis.url() == "unix://" + redis.dir() + "/redis.sock");
  CHECK(redis.cli_line({"PING"}) == "PONG");
  CHECK(redis.cli_line({"SET", "k", "v"}) == "OK");
  CHECK(redis.cli_line({"XADD", "es:T", "*", "event", "ping", "data", "kept"}).size() > 2);

  CHECK(redis.stop() == 0);
  CHECK_FALSE(redis.ping());
  redis.start();
  CHECK(redis.cli_line({"GET", "k"}) == "v");

  CHECK(redis.cli_line({"SET", "k", "after restart"}) == "OK");
  redis.kill9();
  CHECK_FALSE(redis.running());
  redis.start();
  CHECK(redis.cli_line({"GET", "k"}) == "after restart");
  const auto entries = xrange(redis, "es:T");
  REQUIRE(entries.size() == 1);
  CHECK(is_entry_id(entries[0].id));
  CHECK(entries[0].fields == std::map<std::string, std::string>{{"event", "ping"}, {"data", "kept"}});

  // A subscribed redis-cli is a pub/sub client; kill_clients() drops it.
  CHECK(redis.connected_clients() == 0);
  Process subscriber({"/usr/bin/redis-cli", "-s", redis.socket_path(), "SUBSCRIBE", "es:T"});
  REQUIRE(wait_until([&] { return redis.connected_clients() == 1; }));
  CHECK(redis.kill_clients() == 1);
  CHECK(subscriber.wait_exit(10s).has_value());
  CHECK(redis.connected_clients() == 0);

  SUBCASE("without appendonly nothing survives a restart") {
    RedisServer plain;
    CHECK(plain.cli_line({"SET", "k", "v"}) == "OK");
    plain.restart();
    CHECK(plain.cli_line({"EXISTS", "k"}) == "0");
  }
  SUBCASE("on TCP with a password") {
    RedisServer tcp(RedisOptions::on_tcp("fixture-pw"));
    CHECK(tcp.port() > 0);
    CHECK(tcp.tcp_url("fixture-pw", 3) == "redis://:fixture-pw@127.0.0.1:" + std::to_string(tcp.port()) + "/3");
    CHECK(tcp.tcp_url() == "redis://127.0.0.1:" + std::to_string(tcp.port()));
    CHECK(tcp.cli_line({"PING"}) == "PONG");
    Process tcp_cli({"/usr/bin/redis-cli", "-h", "127.0.0.1", "-p", std::to_string(tcp.port()), "-a", "fixture-pw",
                     "--no-auth-warning", "PING"});
    CHECK(tcp_cli.wait_exit(10s) == 0);
    CHECK(tcp_cli.out() == "PONG\n");
    Process no_password({"/usr/bin/redis-cli", "-h", "127.0.0.1", "-p", std::to_string(tcp.port()), "PING"});
    no_password.wait_exit(10s);
    CHECK(no_password.out().starts_with("NOAUTH"));
  }
}

TEST_CASE("redis: POSTs to two servers, interleaved, reach every subscriber on both in one order with the same ids, once") {
  RedisServer redis;
  Server a(with_redis(redis, {"-i"}));
  Server b(with_redis(redis, {"-i"}));
  INFO("server A log:\n" << a.log());
  INFO("server B log:\n" << b.log());
  std::vector<std::unique_ptr<RawStream>> subs;
  for (const Server* srv : {&a, &a, &b, &b}) subs.push_back(srv->subscribe("/poll/T"));

  constexpr int kEvents = 40;
  std::string expected;
  std::vector<std::string> ids;
  for (int n = 0; n < kEvents; ++n) {
    const Server& via = n % 2 == 0 ? a : b;
    const std::string data = "event " + std::to_string(n);
    auto res = via.post("/ping/T", data);
    REQUIRE_RESPONSE(res);
    CAPTURE(n);
    CHECK(res->status == 200);
    const json answer = json::parse(res->body);
    CHECK(answer["subscribers"] == 2); // this server's own subscribers
    REQUIRE(answer["id"].is_string());
    ids.push_back(answer["id"].get<std::string>());
    expected += wire("ping", data, ids.back());
  }
  for (size_t n = 0; n < ids.size(); ++n) {
    CAPTURE(ids[n]);
    CHECK(is_entry_id(ids[n]));
    if (n > 0) CHECK(entry_id_less(ids[n - 1], ids[n]));
  }
  // A last event after all the others: when it has arrived, anything
  // duplicated or out of order would have arrived before it.
  const std::string end_id = posted_id(a, "/ping/T", "end");
  expected += wire("ping", "end", end_id);
  for (size_t i = 0; i < subs.size(); ++i) {
    CAPTURE(i);
    CHECK(subs[i]->read_until_contains("data: end\n\n", 20s));
    CHECK(subs[i]->body() == expected);
  }
  CHECK(redis.cli_line({"XLEN", "es:T"}) == std::to_string(kEvents + 1));
}

TEST_CASE("redis: concurrent POSTs to two servers reach all subscribers complete and in the same order") {
  RedisServer redis;
  Server a(with_redis(redis, {"-i"}));
  Server b(with_redis(redis, {"-i"}));
  INFO("server A log:\n" << a.log());
  INFO("server B log:\n" << b.log());
  std::vector<std::unique_ptr<RawStream>> subs;
  for (const Server* srv : {&a, &b, &b}) subs.push_back(srv->subscribe("/poll/T"));

  constexpr int kPerPublisher = 150;
  struct Answer {
    int status = 0;
    std::string id;
  };
  std::vector<std::vector<Answer>> answers(2, std::vector<Answer>(kPerPublisher));
  {
    std::vector<std::jthread> publishers;
    for (int p = 0; p < 2; ++p) {
      publishers.emplace_back([&, p] {
        const Server& via = p == 0 ? a : b;
        for (int n = 0; n < kPerPublisher; ++n) {
          auto res = via.post("/ping/T", std::to_string(p) + "-" + std::to_string(n));
          if (!res) continue;
          answers[p][n].status = res->status;
          const json answer = json::parse(res->body, nullptr, false);
          if (answer.is_object() && answer["id"].is_string()) answers[p][n].id = answer["id"].get<std::string>();
        }
      });
    }
  }
  std::map<std::string, std::string> id_of_data;
  for (int p = 0; p < 2; ++p) {
    for (int n = 0; n < kPerPublisher; ++n) {
      CAPTURE(p);
      CAPTURE(n);
      CHECK(answers[p][n].status == 200);
      id_of_data[std::to_string(p) + "-" + std::to_string(n)] = answers[p][n].id;
    }
  }
  const std::string end_id = posted_id(b, "/ping/T", "end");
  std::vector<std::vector<WireEvent>> seen;
  for (auto& s : subs) {
    CHECK(s->read_until_contains("data: end\n\n", 30s));
    seen.push_back(parse_events(s->body()));
  }
  REQUIRE(seen[0].size() == 2 * kPerPublisher + 1);
  CHECK(seen[1] == seen[0]);
  CHECK(seen[2] == seen[0]);
  CHECK(seen[0].back() == WireEvent{end_id, "ping", "end", ""});
  std::vector<int> next_of(2, 0);
  std::set<std::string> ids;
  std::string previous;
  for (size_t i = 0; i + 1 < seen[0].size(); ++i) {
    const WireEvent& e = seen[0][i];
    CAPTURE(e.data);
    CHECK(e.name == "ping");
    CHECK(e.id == id_of_data[e.data]);
    if (!previous.empty()) CHECK(entry_id_less(previous, e.id));
    previous = e.id;
    ids.insert(e.id);
    // Each publisher's events keep the order it posted them in.
    const int p = std::stoi(e.data.substr(0, e.data.find('-')));
    const int n = std::stoi(e.data.substr(e.data.find('-') + 1));
    CHECK(n == next_of[static_cast<size_t>(p)]);
    next_of[static_cast<size_t>(p)] = n + 1;
  }
  CHECK(ids.size() == 2 * kPerPublisher);
}

TEST_CASE("redis: a POST to a token this server has no subscriber of is stored in Redis and answered 202, never 404") {
  RedisServer redis;
  SUBCASE("without ids") {
    Server a(with_redis(redis));
    INFO("server log:\n" << a.log());
    auto res = a.post("/ping/nobody", "kept");
    REQUIRE_RESPONSE(res);
    CHECK(res->status == 202);
    CHECK(json::parse(res->body) == json{{"id", nullptr}, {"subscribers", 0}, {"stored", true}});
    const auto entries = xrange(redis, "es:nobody");
    REQUIRE(entries.size() == 1);
    CHECK(entries[0].fields.at("event") == "ping");
    CHECK(entries[0].fields.at("data") == "kept");
  }
  SUBCASE("with ids: the answer's id is the stream entry's") {
    Server a(with_redis(redis, {"-i"}));
    INFO("server log:\n" << a.log());
    auto res = a.post("/retry/nobody", "2500");
    REQUIRE_RESPONSE(res);
    CHECK(res->status == 202);
    const json answer = json::parse(res->body);
    CHECK(answer["subscribers"] == 0);
    CHECK(answer["stored"] == true);
    const auto entries = xrange(redis, "es:nobody");
    REQUIRE(entries.size() == 1);
    CHECK(answer["id"] == entries[0].id);
    CHECK(entries[0].fields.at("retry") == "2500");
  }
}

TEST_CASE("redis: an entry added with redis-cli XADD reaches the subscribers on every server") {
  RedisServer redis;
  Server a(with_redis(redis, {"-i"}));
  Server b(with_redis(redis, {"-i"}));
  INFO("server A log:\n" << a.log());
  INFO("server B log:\n" << b.log());
  auto sa = a.subscribe("/poll/T");
  auto sb = b.subscribe("/poll/T");
  auto other = b.subscribe("/poll/U");

  const std::string ping = redis.cli_line({"XADD", "es:T", "*", "event", "ping", "data", "hello"});
  const std::string plain = redis.cli_line({"XADD", "es:T", "*", "data", "no event field"});
  const std::string lines = redis.cli_line({"XADD", "es:T", "*", "event", "note", "data", "line 1\nline 2"});
  const std::string retry = redis.cli_line({"XADD", "es:T", "*", "retry", "2500", "data", "with retry"});
  for (const std::string& id : {ping, plain, lines, retry}) REQUIRE(is_entry_id(id));

  for (RawStream* s : {sa.get(), sb.get()}) {
    REQUIRE(read_events(*s, 4));
    const auto events = parse_events(s->body());
    REQUIRE(events.size() == 4);
    CHECK(events[0] == WireEvent{ping, "ping", "hello", ""});
    CHECK(events[1].id == plain);
    CHECK(type_of(events[1]) == "message");
    CHECK(events[1].data == "no event field");
    CHECK(events[2] == WireEvent{lines, "note", "line 1\nline 2", ""});
    CHECK(events[3].id == retry);
    CHECK(events[3].retry == "2500");
    CHECK(type_of(events[3]) == "message");
    CHECK(events[3].data == "with retry");
  }
  CHECK(sa->body() == sb->body());
  CHECK(sa->body().starts_with(wire("ping", "hello", ping)));

  // Other tokens got nothing of T's.
  const std::string for_u = redis.cli_line({"XADD", "es:U", "*", "event", "ping", "data", "for U"});
  REQUIRE(read_events(*other, 1));
  CHECK(other->body() == wire("ping", "for U", for_u));
}

TEST_CASE("redis: a message sent with redis-cli PUBLISH arrives live on every server, as a message without id") {
  RedisServer redis;
  Server a(with_redis(redis, {"-i"}));
  Server b(with_redis(redis, {"-i"}));
  INFO("server A log:\n" << a.log());
  INFO("server B log:\n" << b.log());
  auto sa = a.subscribe("/poll/T");
  auto sb = b.subscribe("/poll/T");
  redis.cli({"PUBLISH", "es:T", "hello"});
  for (RawStream* s : {sa.get(), sb.get()}) {
    REQUIRE(read_events(*s, 1));
    const auto events = parse_events(s->body());
    REQUIRE(events.size() == 1);
    CHECK(events[0].id.empty());
    CHECK(type_of(events[0]) == "message");
    CHECK(events[0].data == "hello");
    CHECK(events[0].retry.empty());
  }
  // Live only: not kept in the stream, so nothing to replay.
  CHECK(redis.cli_line({"EXISTS", "es:T"}) == "0");
  // Stored events go on after it, with ids.
  const std::string id = posted_id(a, "/ping/T", "stored");
  for (RawStream* s : {sa.get(), sb.get()}) {
    REQUIRE(read_events(*s, 2));
    CHECK(parse_events(s->body()).back() == WireEvent{id, "ping", "stored", ""});
  }
}

TEST_CASE("redis: an entry with event close is delivered, then ends the token's streams on every server") {
  RedisServer redis;
  Server a(with_redis(redis));
  Server b(with_redis(redis));
  INFO("server A log:\n" << a.log());
  INFO("server B log:\n" << b.log());
  auto sa = a.subscribe("/poll/T");
  auto sb = b.subscribe("/poll/T");
  auto su = a.subscribe("/poll/U");
  redis.cli_line({"XADD", "es:T", "*", "event", "close", "data", "bye"});
  for (RawStream* s : {sa.get(), sb.get()}) {
    CHECK(s->read_until_closed(10s));
    CHECK(s->body() == wire("close", "bye"));
  }
  CHECK_FALSE(su->closed());
  redis.cli_line({"XADD", "es:U", "*", "event", "ping", "data", "still here"});
  REQUIRE(read_events(*su, 1));
  CHECK(su->body() == wire("ping", "still here"));
  CHECK_FALSE(su->closed());

  // POST /close/T through one server ends the streams on the other too.
  auto again = b.subscribe("/poll/T");
  auto res = a.post("/close/T", "by POST");
  REQUIRE_RESPONSE(res);
  CHECK(res->status == 202);
  CHECK(again->read_until_closed(10s));
  CHECK(again->body() == wire("close", "by POST"));
}

TEST_CASE("redis: with -i a POST's answer id is the SSE id, and Last-Event-ID resumes on the other server") {
  RedisServer redis;
  Server a(with_redis(redis, {"-i"}));
  Server b(with_redis(redis, {"-i"}));
  INFO("server A log:\n" << a.log());
  INFO("server B log:\n" << b.log());
  auto live = a.subscribe("/poll/T");
  std::vector<std::string> ids;
  std::string all;
  for (const char* data : {"x1", "x2", "x3", "x4", "x5"}) {
    auto res = a.post("/ping/T", data);
    REQUIRE_RESPONSE(res);
    CHECK(res->status == 200);
    const json answer = json::parse(res->body);
    CHECK(answer["subscribers"] == 1);
    REQUIRE(answer["id"].is_string());
    ids.push_back(answer["id"].get<std::string>());
    all += wire("ping", data, ids.back());
  }
  REQUIRE(read_events(*live, 5));
  CHECK(live->body() == all);

  auto resumed = b.subscribe("/poll/T", {"Last-Event-ID: " + ids[1]});
  REQUIRE(read_events(*resumed, 3));
  std::string missed = wire("ping", "x3", ids[2]) + wire("ping", "x4", ids[3]) + wire("ping", "x5", ids[4]);
  CHECK(resumed->body() == missed);

  auto by_query = b.subscribe("/poll/T?lastEventId=" + ids[3]);
  REQUIRE(read_events(*by_query, 1));
  CHECK(by_query->body() == wire("ping", "x5", ids[4]));

  // Then the resumed streams go on live, without repeating anything.
  const std::string x6 = posted_id(a, "/ping/T", "x6");
  const std::string end = posted_id(b, "/ping/T", "end");
  REQUIRE(resumed->read_until_contains("data: end\n\n"));
  CHECK(resumed->body() == missed + wire("ping", "x6", x6) + wire("ping", "end", end));
  REQUIRE(by_query->read_until_contains("data: end\n\n"));
  CHECK(by_query->body() == wire("ping", "x5", ids[4]) + wire("ping", "x6", x6) + wire("ping", "end", end));

  // The latest id: nothing to replay.
  auto current = b.subscribe("/poll/T", {"Last-Event-ID: " + end});
  const std::string next = posted_id(a, "/ping/T", "next");
  REQUIRE(read_events(*current, 1));
  CHECK(current->body() == wire("ping", "next", next));
}

TEST_CASE("redis: resuming from an id older than what the stream keeps sends a gap event first, then what is kept") {
  RedisServer redis;
  Server a(with_redis(redis, {"-i", "--history", "1000"}));
  Server b(with_redis(redis, {"-i", "--history", "1000"}));
  INFO("server A log:\n" << a.log());
  INFO("server B log:\n" << b.log());
  std::vector<std::string> ids;
  for (const char* data : {"1", "2", "3", "4", "5"}) ids.push_back(posted_id(a, "/ping/T", data));

  SUBCASE("the oldest entries trimmed") {
    CHECK(redis.cli_line({"XTRIM", "es:T", "MAXLEN", "2"}) == "3");
    auto resumed = b.subscribe("/poll/T", {"Last-Event-ID: " + ids[0]});
    REQUIRE(read_events(*resumed, 3));
    CHECK(resumed->body() == "event: gap\ndata: " + ids[0] + "\n\n" + wire("ping", "4", ids[3]) +
                                 wire("ping", "5", ids[4]));
  }
  SUBCASE("every entry trimmed") {
    CHECK(redis.cli_line({"XTRIM", "es:T", "MAXLEN", "0"}) == "5");
    auto resumed = b.subscribe("/poll/T", {"Last-Event-ID: " + ids[2]});
    REQUIRE(read_events(*resumed, 1));
    CHECK(resumed->body() == "event: gap\ndata: " + ids[2] + "\n\n");
    const std::string six = posted_id(a, "/ping/T", "6");
    REQUIRE(read_events(*resumed, 2));
    CHECK(resumed->body() == "event: gap\ndata: " + ids[2] + "\n\n" + wire("ping", "6", six));
  }
}

TEST_CASE("redis: a subscriber of a server killed with -9 resumes on another and gets exactly what it missed, once, in order") {
  RedisServer redis;
  auto a = std::make_unique<Server>(with_redis(redis, {"-i"}));
  Server b(with_redis(redis, {"-i"}));
  INFO("server A log:\n" << a->log());
  INFO("server B log:\n" << b.log());
  auto s = a->subscribe("/poll/T");

  // B publishes throughout; A is killed in the middle, and B goes on for
  // another 100 events after that.
  constexpr int kCap = 5000;
  std::vector<Accepted> published;
  std::atomic<int> posted{0};
  std::atomic<int> stop_at{kCap};
  std::jthread publisher([&](std::stop_token stop) {
    for (int n = 0; n < stop_at.load() && !stop.stop_requested(); ++n) {
      Accepted p;
      p.data = std::to_string(n);
      auto res = b.post("/ping/T", p.data);
      if (res) {
        p.status = res->status;
        const json answer = json::parse(res->body, nullptr, false);
        if (answer.is_object() && answer["id"].is_string()) p.id = answer["id"].get<std::string>();
      }
      published.push_back(std::move(p));
      posted = n + 1;
    }
  });
  REQUIRE(read_events(*s, 30, 20s));
  a->stop(SIGKILL);
  stop_at = posted.load() + 100;
  CHECK(s->read_until_closed(10s));
  const auto before = parse_events(s->body());
  REQUIRE(!before.empty());
  const std::string last_id = before.back().id;
  REQUIRE(is_entry_id(last_id));

  auto resumed = b.subscribe("/poll/T", {"Last-Event-ID: " + last_id});
  publisher.join();
  const std::string end_id = posted_id(b, "/ping/T", "end");
  REQUIRE(resumed->read_until_contains("data: end\n\n", 30s));

  std::vector<WireEvent> expected;
  for (const Accepted& p : published) {
    CAPTURE(p.data);
    CHECK((p.status == 200 || p.status == 202));
    expected.push_back({p.id, "ping", p.data, ""});
  }
  expected.push_back({end_id, "ping", "end", ""});
  std::vector<WireEvent> got = before;
  const auto after = parse_events(resumed->body());
  got.insert(got.end(), after.begin(), after.end());
  CHECK(published.size() >= before.size() + 100);
  if (got.size() != expected.size()) {
    std::string d = "before " + std::to_string(before.size()) + " last " + last_id + "\n";
    for (const auto& e : after) d += e.id + " " + e.name + " " + e.data + "\n";
    MESSAGE(d);
  }
  CHECK(got.size() == expected.size());
  CHECK(got == expected);
}

TEST_CASE("redis: after its Redis connections are killed a server reconnects and catches up - every event arrives, in order, once") {
  RedisServer redis;
  Server a(with_redis(redis, {"-i"}));
  Server b(with_redis(redis, {"-i"}));
  INFO("server A log:\n" << a.log());
  INFO("server B log:\n" << b.log());
  auto sa = a.subscribe("/poll/T");
  auto sb = b.subscribe("/poll/T");

  constexpr int kEvents = 300;
  std::vector<Accepted> published;
  std::atomic<int> posted{0};
  std::jthread publisher([&](std::stop_token stop) {
    for (int n = 0; n < kEvents && !stop.stop_requested(); ++n) {
      published.push_back(post_until_accepted(b, redis, "es:T", "/ping/T", "event " + std::to_string(n)));
      posted = n + 1;
    }
  });
  REQUIRE(read_events(*sa, 50, 20s));
  const int first_kill = redis.kill_clients();
  CHECK(first_kill >= 2); // at least one connection of each server
  CHECK(posted.load() < kEvents);
  REQUIRE(read_events(*sa, 150, 30s));
  const int second_kill = redis.kill_clients();
  CHECK(second_kill >= 2);
  publisher.join();

  const Accepted end = post_until_accepted(b, redis, "es:T", "/ping/T", "end");
  REQUIRE(!end.id.empty());
  std::string expected;
  int refusals = 0, ambiguous = 0;
  for (const Accepted& p : published) {
    CAPTURE(p.data);
    REQUIRE((p.status == 200 || p.status == 202 || p.ambiguous));
    REQUIRE(is_entry_id(p.id));
    expected += wire("ping", p.data, p.id);
    refusals += p.refusals;
    ambiguous += p.ambiguous ? 1 : 0;
  }
  expected += wire("ping", "end", end.id);
  MESSAGE("publishes refused with 503 while reconnecting: " << refusals << ", of which found in Redis: " << ambiguous);
  for (RawStream* s : {sa.get(), sb.get()}) {
    CHECK(s->read_until_contains("data: end\n\n", 30s));
    CHECK(s->body() == expected);
  }
  // Every entry in Redis once: no publish was stored twice.
  CHECK(xrange(redis, "es:T").size() == kEvents + 1);

  for (const Server* srv : {&a, &b}) {
    CHECK(wait_until([&] { return srv->stats()["redis_connected"] == 1; }));
    CHECK(srv->stats()["redis_reconnects"].get<int>() >= 2);
    CHECK(srv->log().find("redis: lost") != std::string::npos);
    CHECK(srv->log().find("redis: connected") != std::string::npos);
  }
}

TEST_CASE("redis: while Redis is down POSTs are refused 503 and streams stay open, after its restart nothing accepted is lost") {
  RedisServer redis(RedisOptions::durable());
  Server a(with_redis(redis, {"-i", "-k", "200"}));
  Server b(with_redis(redis, {"-i", "-k", "200"}));
  INFO("server A log:\n" << a.log());
  INFO("server B log:\n" << b.log());
  INFO("redis log:\n" << redis.log());
  auto sa = a.subscribe("/poll/T");
  auto sb = b.subscribe("/poll/T");
  const std::string one = posted_id(a, "/ping/T", "one");
  const std::string two = posted_id(b, "/ping/T", "two");
  for (RawStream* s : {sa.get(), sb.get()}) REQUIRE(read_events(*s, 2));

  redis.kill9(); // a crash: only what appendfsync always wrote is left

  for (const Server* srv : {&a, &b}) {
    for (int n = 0; n < 3; ++n) {
      auto res = srv->post("/ping/T", "refused");
      REQUIRE_RESPONSE(res);
      CHECK(res->status == 503);
      CHECK(res->body.starts_with("Redis is unavailable"));
    }
    CHECK(wait_until([&] { return srv->stats()["redis_connected"] == 0; }));
  }
  // Streams stay open: keepalive comments go on while Redis is down.
  for (RawStream* s : {sa.get(), sb.get()}) {
    const size_t mark = s->bytes().size();
    CHECK(s->read_until([&](const std::string& bytes) { return count_of(bytes.substr(mark), ": keepalive ") >= 3; },
                        10s));
    CHECK_FALSE(s->closed());
  }

  redis.start();
  for (const Server* srv : {&a, &b}) CHECK(wait_until([&] { return health_status(*srv) == 200; }, 20s));
  const std::string three = posted_id(a, "/ping/T", "three");
  const std::vector<WireEvent> expected{{one, "ping", "one", ""}, {two, "ping", "two", ""}, {three, "ping", "three", ""}};
  for (RawStream* s : {sa.get(), sb.get()}) {
    REQUIRE(s->read_until_contains("data: three\n\n", 15s));
    CHECK(parse_events(s->body()) == expected);
  }
  // Accepted before the crash, still there to replay, on either server.
  auto replay = b.subscribe("/poll/T", {"Last-Event-ID: " + one});
  REQUIRE(read_events(*replay, 2));
  CHECK(replay->body() == wire("ping", "two", two) + wire("ping", "three", three));
  CHECK(redis.cli_line({"XLEN", "es:T"}) == "3"); // the refused POSTs are nowhere

  auto res = b.post("/ping/T", "four");
  REQUIRE_RESPONSE(res);
  CHECK(res->status == 200);
  for (RawStream* s : {sa.get(), sb.get(), replay.get()}) CHECK(s->read_until_contains("data: four\n\n"));
}

TEST_CASE("redis: GET /health is 200 ok while Redis answers, 503 naming Redis while it is down, 200 again once it is back") {
  RedisServer redis(RedisOptions::durable());
  Server a(with_redis(redis));
  INFO("server log:\n" << a.log());
  auto s = a.subscribe("/poll/T");
  int status = 0;
  CHECK(wait_until([&] { return health_status(a) == 200; }));
  CHECK(health_of(a, status) == "ok\n");
  json stats = a.stats();
  CHECK(stats["redis_connected"] == 1);
  CHECK(stats["redis_reconnects"] == 0);
  CHECK(stats["redis_skipped_entries"] == 0);

  CHECK(redis.stop() == 0);
  CHECK(wait_until([&] { return health_status(a) == 503; }, 10s));
  const std::string reason = health_of(a, status);
  CHECK(status == 503);
  CHECK(reason.starts_with("Redis"));
  CHECK(wait_until([&] { return a.stats()["redis_connected"] == 0; }));
  CHECK(wait_until([&] { return a.log().find("redis: lost") != std::string::npos; }));

  redis.start();
  CHECK(wait_until([&] { return health_status(a) == 200; }, 20s));
  CHECK(health_of(a, status) == "ok\n");
  stats = a.stats();
  CHECK(stats["redis_connected"] == 1);
  CHECK(stats["redis_reconnects"].get<int>() >= 1);
  // One line per change of state, however many reconnection attempts failed.
  CHECK(wait_until([&] { return a.log().find("redis: connected", a.log().find("redis: lost")) != std::string::npos; }));
  const std::string log = a.log();
  CHECK(count_of(log, "redis: lost") == 1);
  CHECK(log.find("redis: connected", log.find("redis: lost")) != std::string::npos);
  REQUIRE_RESPONSE(a.post("/ping/T", "back"));
  CHECK(s->read_until_contains("data: back\n\n"));
}

TEST_CASE("redis: bad outside entries are skipped and counted, the next good entry is delivered") {
  RedisServer redis;
  Server a(with_redis(redis, {"-j", "--max-body", "16"}));
  Server b(with_redis(redis, {"-j", "--max-body", "16"}));
  INFO("server A log:\n" << a.log());
  INFO("server B log:\n" << b.log());
  auto sa = a.subscribe("/poll/T");
  auto sb = b.subscribe("/poll/T");
  CHECK(a.stats()["redis_skipped_entries"] == 0);

  redis.cli_line({"XADD", "es:T", "*", "event", "ping", "nodata", "1"});               // no data field
  redis.cli_line({"XADD", "es:T", "*", "data", "{bad"});                               // not JSON under -j
  redis.cli_line({"XADD", "es:T", "*", "retry", "soon", "data", "1"});                 // retry not a number
  redis.cli_line({"XADD", "es:T", "*", "data", "\"" + std::string(15, 'x') + "\""}); // 17 bytes > --max-body
  redis.cli_line({"XADD", "es:T", "*", "event", "ping", "data", "{\"ok\":1}"});
  const std::string at_limit = "\"" + std::string(14, 'y') + "\""; // 16 bytes
  redis.cli_line({"XADD", "es:T", "*", "data", at_limit});

  for (RawStream* s : {sa.get(), sb.get()}) {
    REQUIRE(read_events(*s, 2));
    const auto events = parse_events(s->body());
    REQUIRE(events.size() == 2);
    CHECK(events[0] == WireEvent{"", "ping", "{\"ok\":1}", ""});
    CHECK(type_of(events[1]) == "message");
    CHECK(events[1].data == at_limit);
  }
  for (const Server* srv : {&a, &b}) CHECK(srv->stats()["redis_skipped_entries"] == 4);
  CHECK_FALSE(sa->closed());
  CHECK_FALSE(sb->closed());
}

TEST_CASE("redis: a redis:// URL on TCP selects the database, --redis-prefix and the config file's keys are used") {
  RedisServer redis(RedisOptions::on_tcp());
  INFO("redis log:\n" << redis.log());
  SUBCASE("redis://127.0.0.1:PORT/3") {
    Server a(with_redis(redis.tcp_url({}, 3), {"-i"}));
    INFO("server log:\n" << a.log());
    auto s = a.subscribe("/poll/T");
    const std::string id = posted_id(a, "/ping/T", "in db 3");
    REQUIRE(read_events(*s, 1));
    CHECK(s->body() == wire("ping", "in db 3", id));
    CHECK(redis.cli_line({"-n", "3", "XLEN", "es:T"}) == "1");
    CHECK(redis.cli_line({"-n", "0", "EXISTS", "es:T"}) == "0");
    const std::string outside = redis.cli_line({"-n", "3", "XADD", "es:T", "*", "event", "ping", "data", "from db 3"});
    redis.cli_line({"-n", "0", "XADD", "es:T", "*", "event", "ping", "data", "from db 0"});
    const std::string last = redis.cli_line({"-n", "3", "XADD", "es:T", "*", "event", "ping", "data", "last"});
    REQUIRE(read_events(*s, 3));
    CHECK(s->body() == wire("ping", "in db 3", id) + wire("ping", "from db 3", outside) + wire("ping", "last", last));
  }
  SUBCASE("--redis-prefix app:") {
    Server a(with_redis(redis.tcp_url(), {"--redis-prefix", "app:"}));
    INFO("server log:\n" << a.log());
    auto s = a.subscribe("/poll/T");
    REQUIRE_RESPONSE(a.post("/ping/T", "prefixed"));
    REQUIRE(read_events(*s, 1));
    CHECK(redis.cli_line({"XLEN", "app:T"}) == "1");
    CHECK(redis.cli_line({"EXISTS", "es:T"}) == "0");
    redis.cli_line({"XADD", "es:T", "*", "event", "ping", "data", "other prefix"});
    redis.cli_line({"XADD", "app:T", "*", "event", "ping", "data", "outside"});
    REQUIRE(read_events(*s, 2));
    CHECK(s->body() == wire("ping", "prefixed") + wire("ping", "outside"));
  }
  SUBCASE("redis://localhost:PORT: a host name, resolved off the loop at start and at every reconnect") {
    Server a(with_redis("redis://localhost:" + std::to_string(redis.port()), {"-i"}));
    INFO("server log:\n" << a.log());
    auto s = a.subscribe("/poll/T");
    const std::string first = posted_id(a, "/ping/T", "by name");
    REQUIRE(read_events(*s, 1));
    // Its connections dropped, the server looks the name up again and reconnects.
    redis.cli_line({"CLIENT", "KILL", "TYPE", "normal"});
    redis.cli_line({"CLIENT", "KILL", "TYPE", "pubsub"});
    std::string second;
    REQUIRE(wait_until(
        [&] {
          auto r = a.post("/ping/T", "after reconnect");
          if (!r || (r->status != 202 && r->status != 200)) return false;
          second = json::parse(r->body)["id"].get<std::string>();
          return true;
        },
        10s));
    REQUIRE(read_events(*s, 2));
    CHECK(s->body() == wire("ping", "by name", first) + wire("ping", "after reconnect", second));
    CHECK(a.log().find("lost the connection") != std::string::npos);
  }
  SUBCASE("redis and redis-prefix in --config") {
    const std::string path = redis.dir() + "/server.toml";
    {
      std::ofstream config(path);
      config << "redis = \"" << redis.url() << "\"\nredis-prefix = \"cfg:\"\n";
    }
    Server a({"--config", path});
    INFO("server log:\n" << a.log());
    auto s = a.subscribe("/poll/T");
    redis.cli_line({"XADD", "cfg:T", "*", "event", "ping", "data", "configured"});
    REQUIRE(read_events(*s, 1));
    CHECK(s->body() == wire("ping", "configured"));
  }
}

TEST_CASE("redis: a password in the URL authenticates and never shows in the log") {
  RedisServer redis(RedisOptions::on_tcp("s3cret-pw"));
  Server a(with_redis(redis.tcp_url("s3cret-pw", 0)));
  Server b(with_redis(redis.tcp_url("s3cret-pw")));
  INFO("server A log:\n" << a.log());
  auto s = b.subscribe("/poll/T");
  auto res = a.post("/ping/T", "authenticated");
  REQUIRE_RESPONSE(res);
  CHECK(res->status == 202);
  REQUIRE(read_events(*s, 1));
  CHECK(s->body() == wire("ping", "authenticated"));
  a.stop();
  b.stop();
  CHECK(a.log().find("s3cret-pw") == std::string::npos);
  CHECK(b.log().find("s3cret-pw") == std::string::npos);
}

TEST_CASE("redis: a Redis that cannot be used at start is exit status 2, naming the URL without its password") {
  // The program's own message (as its other start errors), not a usage error of the option.
  auto start = [](const std::string& url, bool names_redis = true) {
    auto p = std::make_unique<Process>(
        std::vector<std::string>{program_path("eventsource-server"), "-H", "127.0.0.1", "-P", "0", "--redis", url});
    const auto status = p->wait_exit(30s);
    INFO("stderr: " << p->err());
    CHECK(status == 2);
    CHECK(p->err().starts_with("eventsource-server: "));
    if (names_redis) CHECK(p->err().find("Redis") != std::string::npos);
    CHECK(p->err().find("listening on") == std::string::npos);
    return p;
  };
  SUBCASE("nothing listening") {
    const std::string url = "redis://127.0.0.1:" + std::to_string(unused_port());
    auto p = start(url);
    INFO("stderr: " << p->err());
    CHECK(p->err().find(url) != std::string::npos);
    CHECK(icontains(p->err(), "connection refused"));
  }
  SUBCASE("no socket at a unix:// path") {
    RedisServer redis;
    const std::string url = "unix://" + redis.dir() + "/nothing.sock";
    auto p = start(url);
    INFO("stderr: " << p->err());
    CHECK(p->err().find(url) != std::string::npos);
  }
  SUBCASE("a URL that is not redis:// or unix://") {
    auto p = start("http://127.0.0.1:6379", false);
    INFO("stderr: " << p->err());
    CHECK(p->err().find("http://127.0.0.1:6379") != std::string::npos);
  }
  SUBCASE("with Redis on TCP") {
    RedisServer redis(RedisOptions::on_tcp("right-pw"));
    const std::string host_port = "127.0.0.1:" + std::to_string(redis.port());
    SUBCASE("a wrong password") {
      auto p = start(redis.tcp_url("wrong-pw"));
      INFO("stderr: " << p->err());
      CHECK(p->err().find("redis://") != std::string::npos);
      CHECK(p->err().find(host_port) != std::string::npos);
      CHECK(p->err().find("wrong-pw") == std::string::npos);
    }
    SUBCASE("no password where one is required") {
      auto p = start(redis.tcp_url());
      INFO("stderr: " << p->err());
      CHECK(p->err().find("redis://" + host_port) != std::string::npos);
    }
    SUBCASE("a database Redis does not have") {
      auto p = start(redis.tcp_url("right-pw", 99));
      INFO("stderr: " << p->err());
      CHECK(p->err().find(host_port + "/99") != std::string::npos);
      CHECK(p->err().find("right-pw") == std::string::npos);
    }
  }
}

TEST_CASE("redis: pipelined POSTs on one connection wait for Redis in turn and are answered in order") {
  RedisServer redis;
  Server a(with_redis(redis, {"-i"}));
  INFO("server A log:\n" << a.log());
  auto s = a.subscribe("/poll/T");
  RawStream conn(a.port());
  std::string requests;
  for (const char* data : {"p1", "p2", "p3"})
    requests += std::string("POST /ping/T HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n") + data;
  conn.send(requests);
  std::vector<RawResponse> answers;
  REQUIRE(conn.read_until([&](const std::string& b) {
    answers = parse_responses(b);
    return answers.size() == 3;
  }));
  std::vector<std::string> ids;
  for (const auto& r : answers) {
    CHECK(r.status == 200);
    ids.push_back(nlohmann::json::parse(r.body)["id"].get<std::string>());
  }
  CHECK(std::is_sorted(ids.begin(), ids.end(), [](const std::string& x, const std::string& y) {
    return std::stoull(x) < std::stoull(y) || (std::stoull(x) == std::stoull(y) && x < y);
  }));
  REQUIRE(read_events(*s, 3));
  CHECK(s->body() == wire("ping", "p1", ids[0]) + wire("ping", "p2", ids[1]) + wire("ping", "p3", ids[2]));
  CHECK_FALSE(conn.closed());
}

TEST_CASE("redis: entries added while a server reconnects arrive once it is back, with nothing published after them") {
  RedisServer redis;
  Server a(with_redis(redis, {"-i"}));
  INFO("server A log:\n" << a.log());
  auto s = a.subscribe("/poll/T");
  const std::string before = posted_id(a, "/ping/T", "before");
  REQUIRE(read_events(*s, 1));
  // Both of the server's connections go; the entries below are added before
  // it can subscribe again, so no notification will ever tell it of them.
  redis.kill_clients();
  const std::string one = redis.cli_line({"XADD", "es:T", "*", "event", "ping", "data", "while away 1"});
  const std::string two = redis.cli_line({"XADD", "es:T", "*", "event", "ping", "data", "while away 2"});
  REQUIRE(read_events(*s, 3));
  CHECK(s->body() == wire("ping", "before", before) + wire("ping", "while away 1", one) +
                         wire("ping", "while away 2", two));
}
