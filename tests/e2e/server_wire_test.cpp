// SPDX-License-Identifier: GPL-3.0-or-later
// eventsource-server, the exact wire bytes of each event kind: string, -j, -i,
// multi-line bodies, retry, close, actions (-a, --any-action), percent-encoded tokens.
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

#include <string>

namespace {

using namespace es::test;
using nlohmann::json;

} // namespace

TEST_CASE("server: a string event is written as event and data lines, the POST answers with id null and the subscriber count") {
  Server srv;
  INFO("server log:\n" << srv.log());
  auto s = srv.subscribe("/poll/T");
  auto res = srv.post("/ping/T", "hello world");
  REQUIRE_RESPONSE(res);
  CHECK(res->status == 200);
  CHECK(res->get_header_value("Content-Type").starts_with("application/json"));
  // One line, ended: what curl prints leaves the shell prompt on a line of its own.
  CHECK(res->body == "{\"id\":null,\"subscribers\":1}\n");
  REQUIRE(read_events(*s, 1));
  CHECK(s->body() == "event: ping\ndata: hello world\n\n");
}

TEST_CASE("server: LF, CRLF and lone-CR bodies become one data line per line and never break the framing") {
  Server srv;
  INFO("server log:\n" << srv.log());
  auto s = srv.subscribe("/poll/T");
  REQUIRE_RESPONSE(srv.post("/ping/T", "one\ntwo\r\nthree\rfour"));
  // A body that looks like fields stays data.
  REQUIRE_RESPONSE(srv.post("/ping/T", "x\r\nid: 9\r\nevent: evil"));
  REQUIRE_RESPONSE(srv.post("/ping/T", "after"));
  REQUIRE(read_events(*s, 3));
  CHECK(s->body() == "event: ping\ndata: one\ndata: two\ndata: three\ndata: four\n\n"
                     "event: ping\ndata: x\ndata: id: 9\ndata: event: evil\n\n"
                     "event: ping\ndata: after\n\n");
}

TEST_CASE("server: -j sends the JSON body compacted onto one data line") {
  Server srv({"-j"});
  INFO("server log:\n" << srv.log());
  auto s = srv.subscribe("/poll/T");
  auto res = srv.post("/ping/T", "{ \"a\" : \"x\\ny\",\r\n  \"b\" : [1, 2, {\"c\": null}]\n}");
  REQUIRE_RESPONSE(res);
  CHECK(res->status == 200);
  CHECK(json::parse(res->body) == json{{"id", nullptr}, {"subscribers", 1}});
  REQUIRE(read_events(*s, 1));
  CHECK(s->body() == "event: ping\ndata: {\"a\":\"x\\ny\",\"b\":[1,2,{\"c\":null}]}\n\n");
}

TEST_CASE("server: -i writes an id line first and the ids increase, the POST answers with the id") {
  Server srv({"-i"});
  INFO("server log:\n" << srv.log());
  auto s = srv.subscribe("/poll/T");
  for (int i = 1; i <= 3; ++i) {
    auto res = srv.post("/ping/T", "event " + std::to_string(i));
    REQUIRE_RESPONSE(res);
    CHECK(res->status == 200);
    CHECK(json::parse(res->body) == json{{"id", std::to_string(i)}, {"subscribers", 1}});
  }
  REQUIRE(read_events(*s, 3));
  CHECK(s->body() == wire("ping", "event 1", "1") + wire("ping", "event 2", "2") + wire("ping", "event 3", "3"));
}

TEST_CASE("server: -j -i writes the id line and the compact JSON data") {
  Server srv({"-j", "-i"});
  INFO("server log:\n" << srv.log());
  auto s = srv.subscribe("/poll/T");
  auto res = srv.post("/ping/T", "{\"k\": [true, null, 1.5]}");
  REQUIRE_RESPONSE(res);
  CHECK(json::parse(res->body) == json{{"id", "1"}, {"subscribers", 1}});
  auto res2 = srv.post("/ping/T", " \"text\" ");
  REQUIRE_RESPONSE(res2);
  CHECK(json::parse(res2->body) == json{{"id", "2"}, {"subscribers", 1}});
  REQUIRE(read_events(*s, 2));
  CHECK(s->body() == wire("ping", "{\"k\":[true,null,1.5]}", "1") + wire("ping", "\"text\"", "2"));
}

TEST_CASE("server: -a adds an action that becomes the event name, an action not allowed is 404 'Unknown action requested'") {
  Server srv({"-a", "custom", "--allow-action", "other"});
  INFO("server log:\n" << srv.log());
  auto s = srv.subscribe("/poll/T");
  REQUIRE_RESPONSE(srv.post("/custom/T", "c"));
  REQUIRE_RESPONSE(srv.post("/other/T", "o"));
  auto refused = srv.post("/nope/T", "n");
  REQUIRE_RESPONSE(refused);
  CHECK(refused->status == 404);
  CHECK(refused->get_header_value("Content-Type").starts_with("text/plain"));
  CHECK(refused->body == "Unknown action requested\n");
  REQUIRE_RESPONSE(srv.post("/ping/T", "p")); // the defaults stay allowed
  REQUIRE(read_events(*s, 3));
  CHECK(s->body() == wire("custom", "c") + wire("other", "o") + wire("ping", "p"));
}

TEST_CASE("server: --any-action allows every action name") {
  Server srv({"--any-action"});
  INFO("server log:\n" << srv.log());
  auto s = srv.subscribe("/poll/T");
  auto res = srv.post("/whatever-1/T", "w");
  REQUIRE_RESPONSE(res);
  CHECK(res->status == 200);
  REQUIRE(read_events(*s, 1));
  CHECK(s->body() == wire("whatever-1", "w"));
}

TEST_CASE("server: a percent-encoded token is decoded on both endpoints") {
  Server srv;
  INFO("server log:\n" << srv.log());
  auto s = srv.subscribe("/poll/a%2Db");
  auto res = srv.post("/ping/a-b", "decoded");
  REQUIRE_RESPONSE(res);
  CHECK(res->status == 200);
  REQUIRE(read_events(*s, 1));
  CHECK(s->body() == wire("ping", "decoded"));
}

TEST_CASE("server: retry sends a retry field, a value that is not a number is 400") {
  Server srv;
  INFO("server log:\n" << srv.log());
  auto s = srv.subscribe("/poll/T");
  auto res = srv.post("/retry/T", "5000");
  REQUIRE_RESPONSE(res);
  CHECK(res->status == 200);
  CHECK(json::parse(res->body) == json{{"id", nullptr}, {"subscribers", 1}});
  for (const char* bad : {"soon", "12x", ""}) {
    CAPTURE(bad);
    auto refused = srv.post("/retry/T", bad);
    REQUIRE_RESPONSE(refused);
    CHECK(refused->status == 400);
    CHECK(refused->body.starts_with("Data is not properly formatted: "));
    CHECK(refused->body.ends_with("\n"));
  }
  REQUIRE_RESPONSE(srv.post("/ping/T", "after"));
  REQUIRE(s->read_until_contains("data: after\n\n"));
  // The retry-only message ends in its blank line, then the next event follows.
  CHECK(s->body() == "retry: 5000\n\n" + wire("ping", "after"));
}

TEST_CASE("server: close sends a final close event, then ends that token's streams and no other") {
  Server srv;
  INFO("server log:\n" << srv.log());
  auto t1 = srv.subscribe("/poll/T");
  auto t2 = srv.subscribe("/poll/T");
  auto u = srv.subscribe("/poll/U");
  auto res = srv.post("/close/T", "bye");
  REQUIRE_RESPONSE(res);
  CHECK(res->status == 200);
  CHECK(json::parse(res->body) == json{{"id", nullptr}, {"subscribers", 2}});
  for (auto* s : {t1.get(), t2.get()}) {
    CHECK(s->read_until_closed(5s));
    CHECK(s->body() == wire("close", "bye"));
  }
  auto gone = srv.post("/ping/T", "too late");
  REQUIRE_RESPONSE(gone);
  CHECK(gone->status == 404);
  CHECK(gone->body == "Target is not connected\n");

  REQUIRE_RESPONSE(srv.post("/ping/U", "still here"));
  REQUIRE(read_events(*u, 1));
  CHECK(u->body() == wire("ping", "still here"));
  CHECK_FALSE(u->closed());

  // An empty close body is allowed too.
  auto empty = srv.post("/close/U", "");
  REQUIRE_RESPONSE(empty);
  CHECK(empty->status == 200);
  CHECK(u->read_until_closed(5s));
  CHECK(u->body().starts_with(wire("ping", "still here") + "event: close\n"));
  CHECK(u->body().ends_with("\n\n"));
}

TEST_CASE("server: -j passes the publisher's JSON on: key order and number text kept, only whitespace removed") {
  Server srv({"-j"});
  INFO("server log:\n" << srv.log());
  auto s = srv.subscribe("/poll/T");
  auto first = srv.post("/ping/T", "{\"zeta\": 1, \"alpha\": \"\xC3\xA9\"}");
  REQUIRE_RESPONSE(first);
  CHECK(first->status == 200);
  auto second = srv.post("/ping/T", "123456789012345678901234567890");
  REQUIRE_RESPONSE(second);
  CHECK(second->status == 200);
  REQUIRE(read_events(*s, 2));
  CHECK(s->body() == "event: ping\ndata: {\"zeta\":1,\"alpha\":\"\xC3\xA9\"}\n\n"
                     "event: ping\ndata: 123456789012345678901234567890\n\n");
}
