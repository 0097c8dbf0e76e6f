// SPDX-License-Identifier: GPL-3.0-or-later
// eventsource-server, what a publish is answered: 404 when nobody listens,
// 202 when stored, the action checked first, 400 for bad JSON, 413 past
// --max-body; chunked bodies and Expect: 100-continue.
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

#include <algorithm>
#include <string>

namespace {

using namespace es::test;
using nlohmann::json;

} // namespace

TEST_CASE("server: a POST to a token nobody listens to is 404 'Target is not connected' when history is off") {
  SUBCASE("without ids") {
    Server srv;
    INFO("server log:\n" << srv.log());
    auto res = srv.post("/ping/nobody", "x");
    REQUIRE_RESPONSE(res);
    CHECK(res->status == 404);
    CHECK(res->get_header_value("Content-Type").starts_with("text/plain"));
    CHECK(res->body == "Target is not connected\n");
  }
  SUBCASE("with ids and --history 0") {
    Server srv({"-i", "--history", "0"});
    INFO("server log:\n" << srv.log());
    auto res = srv.post("/ping/nobody", "x");
    REQUIRE_RESPONSE(res);
    CHECK(res->status == 404);
    CHECK(res->body == "Target is not connected\n");
  }
}

TEST_CASE("server: with ids and history a POST to a token nobody listens to is stored and answered 202") {
  Server srv({"-i"});
  INFO("server log:\n" << srv.log());
  auto res = srv.post("/ping/later", "kept");
  REQUIRE_RESPONSE(res);
  CHECK(res->status == 202);
  CHECK(res->get_header_value("Content-Type").starts_with("application/json"));
  CHECK(res->body == "{\"id\":\"1\",\"subscribers\":0,\"stored\":true}\n");
  auto res2 = srv.post("/ping/later", "kept too");
  REQUIRE_RESPONSE(res2);
  CHECK(res2->status == 202);
  CHECK(json::parse(res2->body) == json{{"id", "2"}, {"subscribers", 0}, {"stored", true}});
  // The stored events are there for a subscriber that resumes.
  auto s = srv.subscribe("/poll/later", {"Last-Event-ID: 1"});
  REQUIRE(read_events(*s, 1));
  CHECK(s->body() == wire("ping", "kept too", "2"));
}

TEST_CASE("server: the action is checked before the token's subscribers") {
  Server srv;
  INFO("server log:\n" << srv.log());
  auto res = srv.post("/nope/nobody", "x");
  REQUIRE_RESPONSE(res);
  CHECK(res->status == 404);
  CHECK(res->body == "Unknown action requested\n");
}

TEST_CASE("server: -j refuses a body that is not JSON with 400 and the parser's message, delivering nothing") {
  Server srv({"-j"});
  INFO("server log:\n" << srv.log());
  auto s = srv.subscribe("/poll/T");
  auto res = srv.post("/ping/T", "{bad");
  REQUIRE_RESPONSE(res);
  CHECK(res->status == 400);
  CHECK(res->get_header_value("Content-Type").starts_with("text/plain"));
  const std::string prefix = "Data is not properly formatted: ";
  CHECK(res->body.starts_with(prefix));
  CHECK(res->body.size() > prefix.size() + 1);
  CHECK(res->body.ends_with("\n"));
  CHECK(std::count(res->body.begin(), res->body.end(), '\n') == 1);
  // The parser's message says where parsing failed ("... at line 1, column 2").
  CHECK(res->body.find("line 1, column 2") != std::string::npos);

  // Data is checked before the token's subscribers.
  auto unconnected = srv.post("/ping/nobody", "[1,");
  REQUIRE_RESPONSE(unconnected);
  CHECK(unconnected->status == 400);
  CHECK(unconnected->body.starts_with(prefix));

  REQUIRE_RESPONSE(srv.post("/ping/T", "1"));
  REQUIRE(read_events(*s, 1));
  CHECK(s->body() == wire("ping", "1"));
}

TEST_CASE("server: a body over --max-body is 413 'Body too large', checked first, a body at the limit is accepted") {
  Server srv({"--max-body", "16"});
  INFO("server log:\n" << srv.log());
  auto s = srv.subscribe("/poll/T");
  auto over = srv.post("/ping/T", std::string(17, 'x'));
  REQUIRE_RESPONSE(over);
  CHECK(over->status == 413);
  CHECK(over->get_header_value("Content-Type").starts_with("text/plain"));
  CHECK(over->body == "Body too large (limit 16 bytes)\n");
  auto over_unknown = srv.post("/nope/nobody", std::string(17, 'x'));
  REQUIRE_RESPONSE(over_unknown);
  CHECK(over_unknown->status == 413);
  CHECK(over_unknown->body == "Body too large (limit 16 bytes)\n");
  auto at_limit = srv.post("/ping/T", std::string(16, 'y'));
  REQUIRE_RESPONSE(at_limit);
  CHECK(at_limit->status == 200);
  REQUIRE(read_events(*s, 1));
  CHECK(s->body() == wire("ping", std::string(16, 'y')));
}

TEST_CASE("server: a chunked POST body is the event data") {
  Server srv;
  INFO("server log:\n" << srv.log());
  auto s = srv.subscribe("/poll/T");
  RawStream conn(srv.port());
  conn.send("POST /ping/T HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
            "6\r\nchunk \r\n4\r\none\n\r\n3\r\ntwo\r\n0\r\n\r\n");
  REQUIRE(conn.read_until([](const std::string& b) { return parse_response(b).has_value(); }));
  auto r = parse_response(conn.bytes());
  CHECK(r->status == 200);
  REQUIRE(read_events(*s, 1));
  CHECK(s->body() == "event: ping\ndata: chunk one\ndata: two\n\n");
}

TEST_CASE("server: a POST with 'Expect: 100-continue' (as curl sends) gets 100 Continue, then is published") {
  Server srv;
  INFO("server log:\n" << srv.log());
  auto s = srv.subscribe("/poll/T");
  RawStream conn(srv.port());
  conn.send("POST /ping/T HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 8\r\nExpect: 100-continue\r\n\r\n");
  REQUIRE(conn.read_until_contains("\r\n\r\n", 5s));
  CHECK(conn.bytes().starts_with("HTTP/1.1 100 Continue\r\n"));
  const size_t interim_end = conn.bytes().find("\r\n\r\n") + 4;
  conn.send("expected");
  REQUIRE(conn.read_until([&](const std::string& b) { return parse_response(b, interim_end).has_value(); }));
  CHECK(parse_response(conn.bytes(), interim_end)->status == 200);
  REQUIRE(read_events(*s, 1));
  CHECK(s->body() == wire("ping", "expected"));
}

TEST_CASE("server: a body sent as a form (curl -d's default type) is data like any other, past 8 KB too") {
  Server srv({"-i"});
  INFO("server log:\n" << srv.log());
  auto s = srv.subscribe("/poll/T");
  const std::string data(100'000, 'f');
  auto c = srv.client();
  auto res = c.Post("/ping/T", data, "application/x-www-form-urlencoded");
  REQUIRE_RESPONSE(res);
  CHECK(res->status == 200);
  REQUIRE(read_events(*s, 1));
  CHECK(s->body() == wire("ping", data, "1"));
}
