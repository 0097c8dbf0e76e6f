// SPDX-License-Identifier: GPL-3.0-or-later
// WebSocket frames: what the server sends, byte for byte, and the reader of
// client frames fed whole, at every split and byte by byte.
#include "ws/frame.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace {

using es::ws::FrameEvent;
using es::ws::FrameReader;
using es::ws::Opcode;

/// A client frame: masked with `mask` (RFC 6455, 5.3), FIN and RSV as given.
std::string client_frame(std::uint8_t opcode, std::string_view payload, bool fin = true, std::uint8_t rsv = 0,
                         bool masked = true) {
  std::string f;
  f += static_cast<char>((fin ? 0x80 : 0) | rsv | opcode);
  const std::uint8_t mask_bit = masked ? 0x80 : 0;
  if (payload.size() < 126) {
    f += static_cast<char>(mask_bit | payload.size());
  } else if (payload.size() <= 0xFFFF) {
    f += static_cast<char>(mask_bit | 126);
    f += static_cast<char>(payload.size() >> 8);
    f += static_cast<char>(payload.size() & 0xFF);
  } else {
    f += static_cast<char>(mask_bit | 127);
    for (int shift = 56; shift >= 0; shift -= 8) f += static_cast<char>((payload.size() >> shift) & 0xFF);
  }
  const char mask[4] = {'\x12', '\x34', '\x56', '\x78'};
  if (masked) f.append(mask, 4);
  for (std::size_t i = 0; i < payload.size(); ++i) f += masked ? static_cast<char>(payload[i] ^ mask[i % 4]) : payload[i];
  return f;
}

/// Every event the reader finds when fed `bytes` in pieces of `step` bytes.
std::vector<FrameEvent> read_all(std::string_view bytes, std::size_t step, std::size_t max_message = 4096) {
  FrameReader reader(max_message);
  std::vector<FrameEvent> events;
  for (std::size_t i = 0; i < bytes.size(); i += step) {
    reader.feed(bytes.substr(i, step));
    for (FrameEvent e = reader.next(); e.kind != FrameEvent::Kind::none; e = reader.next()) {
      events.push_back(e);
      if (e.kind == FrameEvent::Kind::error) return events;
    }
  }
  return events;
}

/// As read_all, checking the same events come whatever the split.
std::vector<FrameEvent> read_every_split(std::string_view bytes, std::size_t max_message = 4096) {
  const auto whole = read_all(bytes, bytes.size() ? bytes.size() : 1, max_message);
  for (std::size_t step = 1; step < bytes.size(); ++step) {
    const auto split = read_all(bytes, step, max_message);
    REQUIRE(split.size() == whole.size());
    for (std::size_t i = 0; i < whole.size(); ++i) {
      CHECK(split[i].kind == whole[i].kind);
      CHECK(split[i].code == whole[i].code);
      CHECK(split[i].payload == whole[i].payload);
    }
  }
  return whole;
}

}  // namespace

TEST_CASE("ws frame: server frames are unmasked, FIN set, with the shortest length encoding") {
  CHECK(es::ws::encode_frame(Opcode::text, "hi") == std::string("\x81\x02hi", 4));
  const std::string medium(126, 'm');
  CHECK(es::ws::encode_frame(Opcode::text, medium) == std::string("\x81\x7e\x00\x7e", 4) + medium);
  const std::string large(70000, 'l');
  CHECK(es::ws::encode_frame(Opcode::text, large) == std::string("\x81\x7f\x00\x00\x00\x00\x00\x01\x11\x70", 10) + large);
  CHECK(es::ws::encode_frame(Opcode::ping, "") == std::string("\x89\x00", 2));
  CHECK(es::ws::encode_close(es::ws::CloseCode::going_away, "bye") == std::string("\x88\x05\x03\xe9" "bye", 7));
  CHECK(es::ws::encode_close(es::ws::CloseCode::normal, std::string(200, 'r')).size() == 2 + 125);
}

TEST_CASE("ws frame: pings, pongs, messages and close are read at every split") {
  const std::string bytes = client_frame(0x9, "are you there") + client_frame(0x1, "hello") + client_frame(0xA, "") +
                            client_frame(0x2, std::string(300, 'b')) + client_frame(0x8, "\x03\xe8" "done");
  const auto events = read_every_split(bytes);
  REQUIRE(events.size() == 5);
  CHECK(events[0].kind == FrameEvent::Kind::ping);
  CHECK(events[0].payload == "are you there");
  CHECK(events[1].kind == FrameEvent::Kind::message);
  CHECK(events[1].payload == "hello");
  CHECK(events[2].kind == FrameEvent::Kind::pong);
  CHECK(events[3].payload == std::string(300, 'b'));
  CHECK(events[4].kind == FrameEvent::Kind::close);
  CHECK(events[4].code == 1000);
}

TEST_CASE("ws frame: a fragmented message is joined, with a ping between its fragments") {
  const std::string bytes = client_frame(0x1, "hel", false) + client_frame(0x9, "p") + client_frame(0x0, "lo", false) +
                            client_frame(0x0, "!", true);
  const auto events = read_every_split(bytes);
  REQUIRE(events.size() == 2);
  CHECK(events[0].kind == FrameEvent::Kind::ping);
  CHECK(events[1].kind == FrameEvent::Kind::message);
  CHECK(events[1].payload == "hello!");
}

TEST_CASE("ws frame: a close without a code reads as 1005") {
  const auto events = read_every_split(client_frame(0x8, ""));
  REQUIRE(events.size() == 1);
  CHECK(events[0].code == 1005);
}

TEST_CASE("ws frame: the RFC's rules for clients are enforced with 1002, size with 1009") {
  struct Case {
    std::string bytes;
    std::uint16_t code;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {client_frame(0x1, "x", true, 0, false), 1002, "unmasked client frame"},
      {client_frame(0x1, "x", true, 0x40), 1002, "reserved bits set"},
      {client_frame(0x9, "x", false), 1002, "fragmented control frame"},
      {client_frame(0x9, std::string(126, 'p')), 1002, "control frame over 125 bytes"},
      {client_frame(0x3, "x"), 1002, "unknown opcode 3"},
      {client_frame(0x0, "x"), 1002, "continuation without a message"},
      {client_frame(0x1, "a", false) + client_frame(0x1, "b"), 1002, "new message inside a fragmented one"},
      {client_frame(0x8, "\x03"), 1002, "close frame with a 1-byte payload"},
      {client_frame(0x8, "\x03\xed"), 1002, "invalid close code 1005"},
      {client_frame(0x8, "\x03\xe7"), 1002, "invalid close code 999"},
      {client_frame(0x1, std::string(5000, 'x')), 1009, "message over 4096 bytes"},
      {client_frame(0x1, std::string(3000, 'x'), false) + client_frame(0x0, std::string(3000, 'x')), 1009,
       "message over 4096 bytes"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.reason);
    const auto events = read_every_split(c.bytes);
    REQUIRE(events.size() == 1);
    CHECK(events[0].kind == FrameEvent::Kind::error);
    CHECK(events[0].code == c.code);
    CHECK(events[0].reason == c.reason);
  }
}

TEST_CASE("ws frame: an oversized message is refused from its header, before its bytes arrive") {
  FrameReader reader(4096);
  std::string header = client_frame(0x2, std::string(70000, 'x')).substr(0, 14);
  reader.feed(header);
  const FrameEvent e = reader.next();
  CHECK(e.kind == FrameEvent::Kind::error);
  CHECK(e.code == 1009);
  // An error is final.
  reader.feed(client_frame(0x9, "x"));
  CHECK(reader.next().kind == FrameEvent::Kind::error);
}
