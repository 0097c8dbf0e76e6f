// SPDX-License-Identifier: GPL-3.0-or-later
// eventsource-server, HTTP handling: 405 and its Allow header, malformed
// requests, unknown paths, keep-alive reuse, request bodies held without a
// worker, 408 timeouts, chunked limits and framing, 501, idle keep-alive.
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

#include <cerrno>
#include <ctime>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include <sys/socket.h>

namespace {

using namespace es::test;
using nlohmann::json;

} // namespace

TEST_CASE("server: other methods are 405 with 'Allow: GET, POST, OPTIONS'") {
  Server srv;
  INFO("server log:\n" << srv.log());
  auto c = srv.client();
  auto put = c.Put("/ping/T", "x", "text/plain");
  REQUIRE_RESPONSE(put);
  CHECK(put->status == 405);
  CHECK(put->get_header_value("Allow") == "GET, POST, OPTIONS");
  auto del = c.Delete("/poll/T");
  REQUIRE_RESPONSE(del);
  CHECK(del->status == 405);
  CHECK(del->get_header_value("Allow") == "GET, POST, OPTIONS");
  RawStream raw(srv.port());
  raw.send("PATCH /ping/T HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n");
  raw.read_until([](const std::string& b) { return parse_response(b).has_value(); });
  auto r = parse_response(raw.bytes());
  REQUIRE(r);
  CHECK(r->status == 405);
  CHECK(header(r->head, "Allow") == "GET, POST, OPTIONS");
}

TEST_CASE("server: a malformed request head is 400, unknown GET paths are 404") {
  Server srv;
  INFO("server log:\n" << srv.log());
  {
    RawStream raw(srv.port());
    raw.send("THIS IS NOT HTTP\r\n\r\n");
    raw.read_until_contains("\r\n\r\n", 5s);
    CHECK(raw.bytes().starts_with("HTTP/1.1 400"));
  }
  for (const char* path : {"/nothing", "/", "/poll/a/b"}) {
    CAPTURE(path);
    auto r = raw_get_response(srv.port(), path);
    CHECK(r.status == 404);
  }
  // The server keeps serving.
  auto s = srv.subscribe("/poll/T");
  REQUIRE_RESPONSE(srv.post("/ping/T", "ok"));
  REQUIRE(read_events(*s, 1));
}

TEST_CASE("server: a keep-alive connection that POSTs and then GETs /poll on the same connection streams") {
  Server srv;
  INFO("server log:\n" << srv.log());
  RawStream conn(srv.port());
  const std::string post = "POST /ping/elsewhere HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n"
                           "Content-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello";
  conn.send(post);
  REQUIRE(conn.read_until([](const std::string& b) { return parse_response(b).has_value(); }));
  auto first = parse_response(conn.bytes());
  CHECK(first->status == 404);
  CHECK(first->body == "Target is not connected\n");

  conn.send(post); // a second request on the same connection
  REQUIRE(conn.read_until([&](const std::string& b) { return parse_response(b, first->end).has_value(); }));
  auto second = parse_response(conn.bytes(), first->end);
  CHECK(second->status == 404);

  conn.send_get("/poll/T", {"Accept: text/event-stream"});
  REQUIRE(conn.read_until([&](const std::string& b) { return b.find("\r\n\r\n", second->end) != std::string::npos; }));
  const std::string stream = conn.bytes().substr(second->end);
  REQUIRE(stream.starts_with("HTTP/1.1 200"));
  CHECK(header(stream, "Content-Type") == "text/event-stream");

  auto res = srv.post("/ping/T", "on a reused connection");
  REQUIRE_RESPONSE(res);
  CHECK(json::parse(res->body) == json{{"id", nullptr}, {"subscribers", 1}});
  REQUIRE(conn.read_until_contains("data: on a reused connection\n\n"));
  const std::string all = conn.bytes().substr(second->end);
  CHECK(all.substr(all.find("\r\n\r\n") + 4) == wire("ping", "on a reused connection"));
}

TEST_CASE("server: connections whose POST body is still arriving hold no worker: a publish with --workers 1 goes through") {
  Server srv({"--workers", "1", "-d"});
  INFO("server log:\n" << srv.log());
  auto s = srv.subscribe("/poll/T");
  constexpr size_t kStalled = 4;
  const std::string stalled_head = "POST /ping/T HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n";
  std::vector<std::unique_ptr<RawStream>> stalled;
  for (size_t i = 0; i < kStalled; ++i) {
    stalled.push_back(std::make_unique<RawStream>(srv.port()));
    stalled.back()->send(stalled_head + std::string(40, 'a'));
  }
  // -d logs each request line once its head is parsed: every stalled body is then being waited for.
  REQUIRE(wait_until([&] {
    const std::string log = srv.log();
    size_t heads = 0;
    for (size_t at = log.find("\"POST /ping/T HTTP/1.1\"\n"); at != std::string::npos;
         at = log.find("\"POST /ping/T HTTP/1.1\"\n", at + 1))
      ++heads;
    return heads == kStalled;
  }));

  auto c = srv.client();
  c.set_read_timeout(5s); // below the 10 s request timeout that would free a held worker
  auto res = c.Post("/ping/T", "published", "text/plain");
  REQUIRE_RESPONSE(res);
  CHECK(res->status == 200);
  REQUIRE(read_events(*s, 1));
  CHECK(s->body() == wire("ping", "published"));

  // Meanwhile every stalled connection is still open and has had no answer.
  for (auto& conn : stalled) {
    char byte = 0;
    errno = 0;
    const ssize_t n = ::recv(conn->fd(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    CHECK(n == -1);
    CHECK((errno == EAGAIN || errno == EWOULDBLOCK));
  }
  // A stalled body that is finished after all is served.
  stalled[0]->send(std::string(60, 'b'));
  REQUIRE(stalled[0]->read_until([](const std::string& b) { return parse_response(b).has_value(); }, 5s));
  CHECK(parse_response(stalled[0]->bytes())->status == 200);
  REQUIRE(read_events(*s, 2));
  CHECK(s->body() == wire("ping", "published") + wire("ping", std::string(40, 'a') + std::string(60, 'b')));
}

TEST_CASE("server: a body not complete within --request-timeout is 408 'Request body not received in time', closed and logged") {
  Server srv({"--request-timeout", "1"});
  INFO("server log:\n" << srv.log());
  RawStream conn(srv.port());
  conn.send("POST /ping/T HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n" + std::string(40, 'a'));
  REQUIRE(conn.read_until_closed(10s));
  auto r = parse_response(conn.bytes());
  REQUIRE_MESSAGE(r, "got: " << conn.bytes());
  CHECK(r->status == 408);
  CHECK(header(r->head, "Content-Type").value_or("").starts_with("text/plain"));
  CHECK(r->body == "Request body not received in time\n");
  CHECK(r->end == conn.bytes().size());
  CHECK(srv.process().wait_for_line(std::regex(R"("POST /ping/T HTTP/1\.1" 408\b)"), 5s));

  RawStream chunked(srv.port());
  chunked.send("POST /ping/T HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab");
  REQUIRE(chunked.read_until_closed(10s));
  CHECK(parse_response(chunked.bytes()).value_or(RawResponse{}).status == 408);
}

TEST_CASE("server: a chunked body over --max-body is 413 'Body too large', by its announced sizes") {
  Server srv({"--max-body", "16"});
  INFO("server log:\n" << srv.log());
  auto s = srv.subscribe("/poll/T");
  const std::string head = "POST /ping/T HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  // One chunk announced over the limit: refused before its data is sent.
  RawStream one(srv.port());
  one.send(head + "11\r\n");
  REQUIRE(one.read_until([](const std::string& b) { return parse_response(b).has_value(); }));
  auto r = parse_response(one.bytes());
  CHECK(r->status == 413);
  CHECK(r->body == "Body too large (limit 16 bytes)\n");
  // Small chunks adding up to more than the limit.
  RawStream many(srv.port());
  many.send(head + "8\r\nxxxxxxxx\r\n8\r\nxxxxxxxx\r\n1\r\nx\r\n0\r\n\r\n");
  REQUIRE(many.read_until([](const std::string& b) { return parse_response(b).has_value(); }));
  CHECK(parse_response(many.bytes())->status == 413);
  // At the limit it is published; nothing of the refused bodies was.
  RawStream at_limit(srv.port());
  at_limit.send(head + "8\r\nyyyyyyyy\r\n8\r\nyyyyyyyy\r\n0\r\n\r\n");
  REQUIRE(at_limit.read_until([](const std::string& b) { return parse_response(b).has_value(); }));
  CHECK(parse_response(at_limit.bytes())->status == 200);
  REQUIRE(read_events(*s, 1));
  CHECK(s->body() == wire("ping", std::string(16, 'y')));
}

TEST_CASE("server: bad chunked framing is 400 and a transfer coding other than chunked is 501") {
  Server srv;
  INFO("server log:\n" << srv.log());
  RawStream bad(srv.port());
  bad.send("POST /ping/T HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
  REQUIRE(bad.read_until([](const std::string& b) { return parse_response(b).has_value(); }));
  auto r = parse_response(bad.bytes());
  CHECK(r->status == 400);
  CHECK(r->body == "Malformed request: bad chunked framing\n");
  RawStream gzip(srv.port());
  gzip.send("POST /ping/T HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n");
  REQUIRE(gzip.read_until([](const std::string& b) { return parse_response(b).has_value(); }));
  r = parse_response(gzip.bytes());
  CHECK(r->status == 501);
  CHECK(r->body == "Transfer-Encoding not supported (only chunked)\n");
}

TEST_CASE("server: idle keep-alive connections do not hold the request workers") {
  Server srv({"--workers", "2"});
  INFO("server log:\n" << srv.log());
  auto s = srv.subscribe("/poll/T");
  // More idle keep-alive connections than workers, each after one request.
  std::vector<std::unique_ptr<RawStream>> idle;
  for (int i = 0; i < 6; ++i) {
    idle.push_back(std::make_unique<RawStream>(srv.port()));
    idle.back()->send("POST /ping/T HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\nContent-Length: 4\r\n\r\nidle");
    REQUIRE(idle.back()->read_until([](const std::string& b) { return parse_response(b).has_value(); }, 5s));
  }
  auto c = srv.client();
  c.set_read_timeout(5s); // far below the idle timeout that would free a held worker
  auto res = c.Post("/ping/T", "still served", "text/plain");
  REQUIRE_RESPONSE(res);
  CHECK(res->status == 200);
  REQUIRE(s->read_until_contains("data: still served\n\n"));
  // The idle connections still work.
  idle[0]->send("POST /ping/T HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\r\nagain");
  const size_t first_end = parse_response(idle[0]->bytes())->end;
  REQUIRE(idle[0]->read_until([&](const std::string& b) { return parse_response(b, first_end).has_value(); }, 5s));
  CHECK(parse_response(idle[0]->bytes(), first_end)->status == 200);
}

namespace {

/// A Date header value in the IMF-fixdate form of RFC 9110, 5.6.7, within a
/// few seconds of now.
bool is_current_http_date(const std::optional<std::string>& value) {
  if (!value) return false;
  static const std::regex imf_fixdate(R"(^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$)");
  if (!std::regex_match(*value, imf_fixdate)) return false;
  std::tm tm{};
  if (!strptime(value->c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm)) return false;
  const std::time_t then = timegm(&tm);
  const std::time_t now = std::time(nullptr);
  return then <= now + 1 && now - then <= 10;
}

} // namespace

TEST_CASE("server: every 2xx-4xx response carries a Date header (RFC 9110, 6.6.1): streams, publishes, refusals") {
  Server srv({"--exclusive"});
  INFO("server log:\n" << srv.log());
  auto s = srv.subscribe("/poll/T");
  REQUIRE(s->read_until_contains("\r\n\r\n"));
  CHECK(is_current_http_date(header(s->head(), "Date")));

  auto c = srv.client();
  auto published = c.Post("/ping/T", "x", "text/plain");
  REQUIRE_RESPONSE(published);
  CHECK(published->status == 200);
  CHECK(is_current_http_date(published->get_header_value("Date")));
  auto stats = c.Get("/stats");
  REQUIRE_RESPONSE(stats);
  CHECK(is_current_http_date(stats->get_header_value("Date")));
  auto not_connected = c.Post("/ping/nobody", "x", "text/plain");
  REQUIRE_RESPONSE(not_connected);
  CHECK(not_connected->status == 404);
  CHECK(is_current_http_date(not_connected->get_header_value("Date")));

  // Answered by the loop itself: 423, 405, 400.
  const RawResponse locked = raw_get_response(srv.port(), "/poll/T");
  CHECK(locked.status == 423);
  CHECK(is_current_http_date(header(locked.head, "Date")));
  const RawResponse wrong_method = raw_response(srv.port(), "PUT /poll/T HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(wrong_method.status == 405);
  CHECK(is_current_http_date(header(wrong_method.head, "Date")));
  const RawResponse malformed = raw_response(srv.port(), "GARBAGE\r\n\r\n");
  CHECK(malformed.status == 400);
  CHECK(is_current_http_date(header(malformed.head, "Date")));
}

// Publishes and /stats are answered on the loop: keep-alive and pipelining
// must hold there as they did through cpp-httplib.
TEST_CASE("server: pipelined POSTs and a GET /stats in one write are answered in order on one kept connection") {
  Server srv;
  INFO("server log:\n" << srv.log());
  auto sub = srv.subscribe("/poll/T");
  RawStream conn(srv.port());
  const auto post = [](const std::string& data) {
    return "POST /ping/T HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " + std::to_string(data.size()) + "\r\n\r\n" + data;
  };
  conn.send(post("one") + post("two") + "GET /stats HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" + post("three"));
  std::vector<RawResponse> answers;
  REQUIRE(conn.read_until([&](const std::string& b) {
    answers = parse_responses(b);
    return answers.size() == 4;
  }));
  CHECK(answers[0].status == 200);
  CHECK(answers[0].body == "{\"id\":null,\"subscribers\":1}\n");
  CHECK(answers[1].status == 200);
  CHECK(answers[2].status == 200);
  CHECK(header(answers[2].head, "Content-Type").value_or("").starts_with("application/json"));
  CHECK(nlohmann::json::parse(answers[2].body)["events_published"] == 2);
  CHECK(answers[3].status == 200);
  for (const auto& a : answers) {
    CHECK_FALSE(header(a.head, "Connection").has_value());
    CHECK(header(a.head, "Date").has_value());
  }
  REQUIRE(read_events(*sub, 3));
  CHECK(sub->body() == wire("ping", "one") + wire("ping", "two") + wire("ping", "three"));
  CHECK_FALSE(conn.closed());

  conn.send(post("four")); // still open afterwards
  REQUIRE(conn.read_until([&](const std::string& b) { return parse_response(b, answers[3].end).has_value(); }));
  CHECK(parse_response(conn.bytes(), answers[3].end)->status == 200);
}

TEST_CASE("server: a POST with Connection close, or from HTTP/1.0, is answered and the connection closed") {
  Server srv;
  INFO("server log:\n" << srv.log());
  auto sub = srv.subscribe("/poll/T");
  for (const char* request : {"POST /ping/T HTTP/1.1\r\nHost: h\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx",
                              "POST /ping/T HTTP/1.0\r\nContent-Length: 1\r\n\r\nx"}) {
    CAPTURE(request);
    RawStream conn(srv.port());
    conn.send(request);
    REQUIRE(conn.read_until_closed());
    auto r = parse_response(conn.bytes());
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(header(r->head, "Connection") == "close");
  }
  RawStream kept(srv.port());
  kept.send("POST /ping/T HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\ny");
  REQUIRE(kept.read_until([](const std::string& b) { return parse_response(b).has_value(); }));
  CHECK(header(parse_response(kept.bytes())->head, "Connection") == "keep-alive");
  CHECK_FALSE(kept.closed());
}
