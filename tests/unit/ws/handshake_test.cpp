// SPDX-License-Identifier: GPL-3.0-or-later
#include "ws/handshake.hpp"

#include <doctest/doctest.h>

#include <string>

namespace {

/// Parses `text` (a whole request head); `storage` must outlive the head.
es::http::RequestHead head_of(const std::string& storage) {
  es::http::RequestHead head;
  const auto parsed = es::http::parse_request_head(storage, head);
  REQUIRE(parsed.status == es::http::HeadStatus::complete);
  return head;
}

const std::string good =
    "GET /poll/T HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

}  // namespace

TEST_CASE("ws handshake: the accept key of RFC 6455's example") {
  CHECK(es::ws::accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST_CASE("ws handshake: a valid upgrade is accepted, Connection and Upgrade lists case-insensitively") {
  const auto head = head_of(good);
  CHECK(es::ws::is_upgrade(head));
  const auto check = es::ws::check_handshake(head);
  CHECK(check.accept == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  const std::string shouting = "GET / HTTP/1.1\r\nUpgrade: WebSocket\r\nConnection: UPGRADE\r\n"
                               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  CHECK_FALSE(es::ws::check_handshake(head_of(shouting)).accept.empty());
  CHECK_FALSE(es::ws::is_upgrade(head_of("GET / HTTP/1.1\r\nUpgrade: h2c\r\n\r\n")));
  CHECK_FALSE(es::ws::is_upgrade(head_of("GET / HTTP/1.1\r\n\r\n")));
}

TEST_CASE("ws handshake: each flaw is refused with 400, the reason and Sec-WebSocket-Version: 13") {
  struct Case {
    std::string from, to, message;
  };
  const Case cases[] = {
      {"Sec-WebSocket-Version: 13\r\n", "Sec-WebSocket-Version: 8\r\n",
       "WebSocket handshake refused: Sec-WebSocket-Version 8 is not supported (only 13)"},
      {"Sec-WebSocket-Version: 13\r\n", "", "WebSocket handshake refused: Sec-WebSocket-Version is missing (this server speaks 13)"},
      {"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "", "WebSocket handshake refused: Sec-WebSocket-Key is missing"},
      {"dGhlIHNhbXBsZSBub25jZQ==", "c2hvcnQ=", "WebSocket handshake refused: Sec-WebSocket-Key is not the base64 of 16 bytes"},
      {"Connection: keep-alive, Upgrade\r\n", "Connection: keep-alive\r\n",
       "WebSocket handshake refused: Connection: Upgrade is missing"},
      {"HTTP/1.1", "HTTP/1.0", "WebSocket handshake refused: HTTP/1.1 is required"},
  };
  for (const Case& c : cases) {
    std::string text = good;
    text.replace(text.find(c.from), c.from.size(), c.to);
    CAPTURE(text);
    const auto check = es::ws::check_handshake(head_of(text));
    CHECK(check.accept.empty());
    CHECK(check.status == 400);
    CHECK(check.message == c.message);
    CHECK(check.extra_headers == "Sec-WebSocket-Version: 13\r\n");
  }
}
