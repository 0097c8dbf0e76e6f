// SPDX-License-Identifier: GPL-3.0-or-later
// eventsource-server, CORS: Access-Control-Allow-Origin for the listed
// origins (--cors-origin), the OPTIONS preflight, '*'.
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
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace es::test;

} // namespace

TEST_CASE("server: --cors-origin adds Access-Control-Allow-Origin for the listed origins only") {
  Server srv({"--cors-origin", "http://page.test", "--cors-origin", "http://other-page.test:8080"});
  INFO("server log:\n" << srv.log());
  auto s = srv.subscribe("/poll/T", {"Origin: http://page.test"});
  CHECK(header(s->head(), "Access-Control-Allow-Origin") == "http://page.test");
  auto s2 = srv.subscribe("/poll/T", {"Origin: http://other-page.test:8080"});
  CHECK(header(s2->head(), "Access-Control-Allow-Origin") == "http://other-page.test:8080");
  auto stranger = srv.subscribe("/poll/T", {"Origin: http://stranger.test"});
  CHECK_FALSE(header(stranger->head(), "Access-Control-Allow-Origin").has_value());

  auto res = srv.post("/ping/T", "x", {{"Origin", "http://page.test"}});
  REQUIRE_RESPONSE(res);
  CHECK(res->status == 200);
  CHECK(res->get_header_value("Access-Control-Allow-Origin") == "http://page.test");
  // A page must be able to read why a POST failed, too.
  auto refused = srv.post("/ping/nobody", "x", {{"Origin", "http://page.test"}});
  REQUIRE_RESPONSE(refused);
  CHECK(refused->status == 404);
  CHECK(refused->get_header_value("Access-Control-Allow-Origin") == "http://page.test");
  auto foreign = srv.post("/ping/T", "y", {{"Origin", "http://stranger.test"}});
  REQUIRE_RESPONSE(foreign);
  CHECK_FALSE(foreign->has_header("Access-Control-Allow-Origin"));
}

TEST_CASE("server: an OPTIONS preflight is answered 204 with the allowed methods and headers") {
  Server srv({"--cors-origin", "http://page.test"});
  INFO("server log:\n" << srv.log());
  auto c = srv.client();
  for (const char* path : {"/ping/T", "/poll/T"}) {
    CAPTURE(path);
    auto res = c.Options(path, {{"Origin", "http://page.test"},
                                {"Access-Control-Request-Method", "POST"},
                                {"Access-Control-Request-Headers", "content-type, last-event-id"}});
    REQUIRE_RESPONSE(res);
    CHECK(res->status == 204);
    CHECK(res->get_header_value("Access-Control-Allow-Origin") == "http://page.test");
    const std::string methods = res->get_header_value("Access-Control-Allow-Methods");
    CHECK(methods.find("GET") != std::string::npos);
    CHECK(methods.find("POST") != std::string::npos);
    const std::string allowed = res->get_header_value("Access-Control-Allow-Headers");
    CHECK(icontains(allowed, "Last-Event-ID"));
    CHECK(icontains(allowed, "Content-Type"));
  }
}

TEST_CASE("server: --cors-origin '*' allows any origin") {
  Server srv({"--cors-origin", "*"});
  INFO("server log:\n" << srv.log());
  auto s = srv.subscribe("/poll/T", {"Origin: http://anywhere.test"});
  auto allowed = header(s->head(), "Access-Control-Allow-Origin");
  REQUIRE(allowed.has_value());
  // Either form lets any page read the stream.
  CHECK((*allowed == "*" || *allowed == "http://anywhere.test"));
}

// ===========================================================================
// Vary: Origin (new; describes behaviour being implemented)
//
// An answer whose Access-Control-Allow-Origin echoes the request's Origin
// differs from one origin to the next, so it must say so with Vary: Origin
// (Fetch standard, "CORS protocol and HTTP caches"): else a shared cache can
// hand page B the answer made for page A. With --cors-origin https://a.example
// and a request from that origin, each kind of answer the server gives a page
// carries both headers: the stream head, a publish answer, 405, 423, 503,
// the 404 for an unknown listen action, the preflight's 204. With '*' the
// answer is the same for every origin: Access-Control-Allow-Origin: *, and
// Vary is left to the server.

namespace {

constexpr const char* kListedOrigin = "https://a.example";

/// Whether the Vary fields of a response head (a comma-separated list, maybe
/// over several fields) name Origin.
bool varies_on_origin(const std::string& head) {
  for (const std::string& value : header_values(head, "Vary")) {
    size_t start = 0;
    for (;;) {
      size_t comma = value.find(',', start);
      std::string_view item(value.data() + start, (comma == std::string::npos ? value.size() : comma) - start);
      while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
      while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
      if (iequals(item, "Origin")) return true;
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return false;
}

/// Checks that a response head allows kListedOrigin and says Vary: Origin.
void check_allows_listed_origin_and_varies(const std::string& head) {
  INFO("response head:\n" << head);
  CHECK(header(head, "Access-Control-Allow-Origin") == kListedOrigin);
  CHECK(varies_on_origin(head));
}

std::string origin_line(const char* origin = kListedOrigin) { return std::string("Origin: ") + origin; }

/// A POST of `body` to `path` from `origin`, as raw bytes.
std::string post_request(const std::string& path, const std::string& body, const char* origin = kListedOrigin) {
  return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + origin_line(origin) +
         "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

/// An OPTIONS preflight for a POST to `path` from `origin`, as raw bytes.
std::string preflight_request(const std::string& path, const char* origin = kListedOrigin) {
  return "OPTIONS " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + origin_line(origin) +
         "\r\nAccess-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type, last-event-id\r\n\r\n";
}

/// A PUT (not allowed) to `path` from `origin`, as raw bytes.
std::string put_request(const std::string& path, const char* origin = kListedOrigin) {
  return "PUT " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + origin_line(origin) + "\r\nContent-Length: 0\r\n\r\n";
}

} // namespace

TEST_CASE("server: --cors-origin with a listed Origin: the stream head (200) carries Vary: Origin") {
  Server srv({"--cors-origin", kListedOrigin});
  INFO("server log:\n" << srv.log());
  auto s = srv.subscribe("/poll/T", {origin_line()});
  check_allows_listed_origin_and_varies(s->head());
}

TEST_CASE("server: --cors-origin with a listed Origin: a publish answer (200 and 202, JSON) carries Vary: Origin") {
  Server srv({"-i", "--cors-origin", kListedOrigin});
  INFO("server log:\n" << srv.log());
  auto s = srv.subscribe("/poll/T");
  auto delivered = raw_response(srv.port(), post_request("/ping/T", "x"));
  REQUIRE(delivered.status == 200);
  CHECK(header(delivered.head, "Content-Type").value_or("").starts_with("application/json"));
  check_allows_listed_origin_and_varies(delivered.head);
  auto stored = raw_response(srv.port(), post_request("/ping/nobody", "y"));
  REQUIRE(stored.status == 202);
  CHECK(header(stored.head, "Content-Type").value_or("").starts_with("application/json"));
  check_allows_listed_origin_and_varies(stored.head);
}

TEST_CASE("server: --cors-origin with a listed Origin: a 405 carries Vary: Origin") {
  Server srv({"--cors-origin", kListedOrigin});
  INFO("server log:\n" << srv.log());
  auto r = raw_response(srv.port(), put_request("/poll/x"));
  REQUIRE(r.status == 405);
  check_allows_listed_origin_and_varies(r.head);
}

TEST_CASE("server: --cors-origin with a listed Origin: a 423 from --exclusive carries Vary: Origin") {
  Server srv({"--exclusive", "--cors-origin", kListedOrigin});
  INFO("server log:\n" << srv.log());
  auto first = srv.subscribe("/poll/T", {origin_line()});
  auto r = raw_get_response(srv.port(), "/poll/T", {origin_line()});
  REQUIRE(r.status == 423);
  check_allows_listed_origin_and_varies(r.head);
}

TEST_CASE("server: --cors-origin with a listed Origin: a 503 from --max-subscribers carries Vary: Origin") {
  Server srv({"--max-subscribers", "1", "--cors-origin", kListedOrigin});
  INFO("server log:\n" << srv.log());
  auto first = srv.subscribe("/poll/A", {origin_line()});
  auto r = raw_get_response(srv.port(), "/poll/B", {origin_line()});
  REQUIRE(r.status == 503);
  check_allows_listed_origin_and_varies(r.head);
}

TEST_CASE("server: --cors-origin with a listed Origin: a 404 for an unknown listen action carries Vary: Origin") {
  Server srv({"--cors-origin", kListedOrigin});
  INFO("server log:\n" << srv.log());
  auto r = raw_get_response(srv.port(), "/other/T", {origin_line()});
  REQUIRE(r.status == 404);
  CHECK(r.body == "Unknown listen action: subscribe with GET /poll/TOKEN\n");
  check_allows_listed_origin_and_varies(r.head);
}

TEST_CASE("server: --cors-origin with a listed Origin: the OPTIONS preflight (204) carries Vary: Origin") {
  Server srv({"--cors-origin", kListedOrigin});
  INFO("server log:\n" << srv.log());
  for (const char* path : {"/ping/T", "/poll/T"}) {
    CAPTURE(path);
    auto r = raw_response(srv.port(), preflight_request(path));
    REQUIRE(r.status == 204);
    check_allows_listed_origin_and_varies(r.head);
  }
}

TEST_CASE("server: --cors-origin '*': the stream head, publish answers, 405, 423, 503, 404 and 204 carry Access-Control-Allow-Origin: *") {
  // --exclusive and --max-subscribers 2 on one server: a second subscriber of
  // a token is 423, a third subscriber is 503.
  Server srv({"--cors-origin", "*", "-i", "--exclusive", "--max-subscribers", "2"});
  INFO("server log:\n" << srv.log());
  const char* page = "https://b.example";
  auto allows_any = [](const std::string& head) {
    INFO("response head:\n" << head);
    CHECK(header(head, "Access-Control-Allow-Origin") == "*");
  };
  auto a = srv.subscribe("/poll/A", {origin_line(page)});
  allows_any(a->head());
  auto delivered = raw_response(srv.port(), post_request("/ping/A", "x", page));
  CHECK(delivered.status == 200);
  allows_any(delivered.head);
  auto stored = raw_response(srv.port(), post_request("/ping/nobody", "y", page));
  CHECK(stored.status == 202);
  allows_any(stored.head);
  auto not_allowed = raw_response(srv.port(), put_request("/poll/x", page));
  CHECK(not_allowed.status == 405);
  allows_any(not_allowed.head);
  auto locked = raw_get_response(srv.port(), "/poll/A", {origin_line(page)});
  CHECK(locked.status == 423);
  allows_any(locked.head);
  auto b = srv.subscribe("/poll/B", {origin_line(page)});
  auto full = raw_get_response(srv.port(), "/poll/C", {origin_line(page)});
  CHECK(full.status == 503);
  allows_any(full.head);
  auto wrong_action = raw_get_response(srv.port(), "/other/T", {origin_line(page)});
  CHECK(wrong_action.status == 404);
  allows_any(wrong_action.head);
  auto preflight = raw_response(srv.port(), preflight_request("/ping/T", page));
  CHECK(preflight.status == 204);
  allows_any(preflight.head);
}
