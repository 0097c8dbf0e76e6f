// SPDX-License-Identifier: GPL-3.0-or-later
#include "http/request_head.hpp"

#include <doctest/doctest.h>

#include <string>
#include <string_view>

using es::http::HeadStatus;
using es::http::parse_request_head;
using es::http::RequestHead;

namespace {

const std::string subscription =
    "GET /poll/abc?lastEventId=7 HTTP/1.1\r\n"
    "Host: 127.0.0.1:8888\r\n"
    "Last-Event-ID:   42  \r\n"
    "Accept: text/event-stream\r\n"
    "\r\n";

HeadStatus status_of(std::string_view bytes) {
  RequestHead head;
  return parse_request_head(bytes, head).status;
}

}  // namespace

TEST_CASE("http head: a complete head gives the request line, the fields and its size") {
  RequestHead head;
  const std::string bytes = subscription + "POST /next HTTP/1.1\r\n";
  auto parsed = parse_request_head(bytes, head);
  REQUIRE(parsed.status == HeadStatus::complete);
  CHECK(parsed.size == subscription.size());
  CHECK(head.method == "GET");
  CHECK(head.target == "/poll/abc?lastEventId=7");
  CHECK(head.minor_version == 1);
  REQUIRE(head.fields.size() == 3);
  CHECK(head.fields[0].name == "Host");
  CHECK(head.fields[0].value == "127.0.0.1:8888");
}

TEST_CASE("http head: field names compare without case and values lose surrounding blanks") {
  RequestHead head;
  REQUIRE(parse_request_head(subscription, head).status == HeadStatus::complete);
  CHECK(head.field("last-event-id") == "42");
  CHECK(head.field("LAST-EVENT-ID") == "42");
  CHECK_FALSE(head.field("Origin").has_value());
  CHECK(head.count("accept") == 1);
  CHECK(head.count("Cookie") == 0);
}

TEST_CASE("http head: a head cut at any byte is partial until its blank line") {
  for (std::size_t cut = 0; cut < subscription.size(); ++cut) {
    CAPTURE(cut);
    CHECK(status_of(std::string_view(subscription).substr(0, cut)) == HeadStatus::partial);
  }
  CHECK(status_of(subscription) == HeadStatus::complete);
}

TEST_CASE("http head: bare LF line ends are accepted (RFC 9112, 2.2)") {
  RequestHead head;
  const std::string bytes = "POST /ping/t HTTP/1.0\nContent-Length: 3\n\nabc";
  auto parsed = parse_request_head(bytes, head);
  REQUIRE(parsed.status == HeadStatus::complete);
  CHECK(parsed.size == bytes.size() - 3);
  CHECK(head.minor_version == 0);
  CHECK(head.field("content-length") == "3");
}

TEST_CASE("http head: empty lines before the request line are skipped (RFC 9112, 2.2)") {
  RequestHead head;
  const std::string bytes = "\r\n\r\nGET /stats HTTP/1.1\r\n\r\n";
  auto parsed = parse_request_head(bytes, head);
  REQUIRE(parsed.status == HeadStatus::complete);
  CHECK(parsed.size == bytes.size());
  CHECK(head.target == "/stats");
  CHECK(status_of("\r\n\r\n") == HeadStatus::partial);
}

TEST_CASE("http head: a request line that is not HTTP/1.x is malformed") {
  CHECK(status_of("GET /x\r\n\r\n") == HeadStatus::malformed);
  CHECK(status_of("GET /x HTTP/2.0\r\n\r\n") == HeadStatus::malformed);
  CHECK(status_of("GET /x HTTP/1.1 extra\r\n\r\n") == HeadStatus::malformed);
  CHECK(status_of("GET  /x HTTP/1.1\r\n\r\n") == HeadStatus::malformed);
  CHECK(status_of("G(T /x HTTP/1.1\r\n\r\n") == HeadStatus::malformed);
  CHECK(status_of("GET /a\x01 HTTP/1.1\r\n\r\n") == HeadStatus::malformed);
  CHECK(status_of("GET /x http/1.1\r\n\r\n") == HeadStatus::malformed);
}

TEST_CASE("http head: bad field lines are malformed") {
  // RFC 9112, 5.1: no whitespace between the field name and the colon.
  CHECK(status_of("GET / HTTP/1.1\r\nHost : x\r\n\r\n") == HeadStatus::malformed);
  // RFC 9112, 5.2: obsolete line folding is refused.
  CHECK(status_of("GET / HTTP/1.1\r\nX-A: 1\r\n  continued\r\n\r\n") == HeadStatus::malformed);
  CHECK(status_of("GET / HTTP/1.1\r\nno colon here\r\n\r\n") == HeadStatus::malformed);
  CHECK(status_of("GET / HTTP/1.1\r\n: empty name\r\n\r\n") == HeadStatus::malformed);
  CHECK(status_of(std::string_view("GET / HTTP/1.1\r\nX-A: a\0b\r\n\r\n", 28)) == HeadStatus::malformed);
}

TEST_CASE("http head: bytes that cannot start a request are malformed before any line end") {
  // A TLS ClientHello sent to the plain port.
  CHECK(status_of("\x16\x03\x01\x02") == HeadStatus::malformed);
  CHECK(status_of("GE") == HeadStatus::partial);
  CHECK(status_of("GET /never-ending") == HeadStatus::partial);
}

TEST_CASE("http head: an empty field value is kept") {
  RequestHead head;
  REQUIRE(parse_request_head("GET / HTTP/1.1\r\nLast-Event-ID:\r\n\r\n", head).status == HeadStatus::complete);
  REQUIRE(head.field("Last-Event-ID").has_value());
  CHECK(head.field("Last-Event-ID")->empty());
}

TEST_CASE("http head: names compare equal ignoring ASCII case only") {
  CHECK(es::http::equals_ignoring_case("Content-Length", "content-LENGTH"));
  CHECK_FALSE(es::http::equals_ignoring_case("Content-Length", "Content-Lengt"));
  CHECK_FALSE(es::http::equals_ignoring_case("a", "b"));
}
