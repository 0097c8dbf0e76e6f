// SPDX-License-Identifier: GPL-3.0-or-later
// eventsource-server's WebSocket subscribers (GET /poll/TOKEN with Upgrade:
// websocket), black box: the real server, raw sockets and hand-made frames,
// byte for byte; and an independent client (Debian's python3-websockets).

#include "raw_http.hpp"
#include "server_process.hpp"

#include <doctest/doctest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include <sys/socket.h>
#include <unistd.h>

namespace {

using namespace es::test;
using nlohmann::json;

const std::string kKey = "dGhlIHNhbXBsZSBub25jZQ==";
const std::string kAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

std::vector<std::string> upgrade_headers(std::vector<std::string> more = {}) {
  std::vector<std::string> h = {"Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Key: " + kKey,
                                "Sec-WebSocket-Version: 13"};
  h.insert(h.end(), more.begin(), more.end());
  return h;
}

/// A frame as the server sent it (unmasked).
struct Frame {
  std::uint8_t opcode = 0;
  bool fin = false;
  std::string payload;
  std::uint16_t close_code() const {
    return payload.size() >= 2 ? static_cast<std::uint16_t>((static_cast<std::uint8_t>(payload[0]) << 8) |
                                                             static_cast<std::uint8_t>(payload[1]))
                               : 0;
  }
};

/// Server frames in `bytes` (the body after the 101 head), complete ones only.
std::vector<Frame> parse_frames(std::string_view bytes) {
  std::vector<Frame> frames;
  std::size_t at = 0;
  while (bytes.size() - at >= 2) {
    const auto b0 = static_cast<std::uint8_t>(bytes[at]);
    const auto b1 = static_cast<std::uint8_t>(bytes[at + 1]);
    REQUIRE_MESSAGE((b1 & 0x80) == 0, "the server masked a frame");
    std::uint64_t length = b1 & 0x7F;
    std::size_t header = 2;
    if (length == 126) {
      if (bytes.size() - at < 4) break;
      length = (static_cast<std::uint64_t>(static_cast<std::uint8_t>(bytes[at + 2])) << 8) |
               static_cast<std::uint8_t>(bytes[at + 3]);
      header = 4;
    } else if (length == 127) {
      if (bytes.size() - at < 10) break;
      length = 0;
      for (std::size_t i = 2; i < 10; ++i) length = (length << 8) | static_cast<std::uint8_t>(bytes[at + i]);
      header = 10;
    }
    if (bytes.size() - at < header + length) break;
    frames.push_back({static_cast<std::uint8_t>(b0 & 0x0F), (b0 & 0x80) != 0,
                      std::string(bytes.substr(at + header, static_cast<std::size_t>(length)))});
    at += header + static_cast<std::size_t>(length);
  }
  return frames;
}

/// A masked client frame.
std::string client_frame(std::uint8_t opcode, std::string_view payload, bool fin = true, std::uint8_t rsv = 0,
                         bool masked = true) {
  std::string f;
  f += static_cast<char>((fin ? 0x80 : 0) | rsv | opcode);
  const std::uint8_t mask_bit = masked ? 0x80 : 0;
  if (payload.size() < 126) {
    f += static_cast<char>(mask_bit | payload.size());
  } else {
    f += static_cast<char>(mask_bit | 126);
    f += static_cast<char>(payload.size() >> 8);
    f += static_cast<char>(payload.size() & 0xFF);
  }
  const char mask[4] = {'\x0f', '\xf0', '\x55', '\xaa'};
  if (masked) f.append(mask, 4);
  for (std::size_t i = 0; i < payload.size(); ++i) f += masked ? static_cast<char>(payload[i] ^ mask[i % 4]) : payload[i];
  return f;
}

/// Opens a WebSocket on `path` and waits for the 101.
std::unique_ptr<RawStream> ws_open(const ServerProcess& srv, const std::string& path,
                                   std::vector<std::string> more_headers = {}) {
  auto s = std::make_unique<RawStream>(srv.port());
  s->send_get(path, upgrade_headers(std::move(more_headers)));
  REQUIRE(s->read_until_contains("\r\n\r\n"));
  REQUIRE_MESSAGE(s->head().rfind("HTTP/1.1 101 Switching Protocols\r\n", 0) == 0, s->head());
  return s;
}

/// Reads until `n` frames have arrived; returns them.
std::vector<Frame> read_frames(RawStream& s, std::size_t n, std::chrono::milliseconds timeout = 10s) {
  s.read_until([&](const std::string&) { return parse_frames(s.body()).size() >= n; }, timeout);
  return parse_frames(s.body());
}

json text_json(const Frame& f) {
  REQUIRE(f.opcode == 0x1);
  REQUIRE(f.fin);
  return json::parse(f.payload);
}

}  // namespace

TEST_CASE("websocket: the handshake is answered 101 with the accept key, and the subscriber counts") {
  Server srv;
  auto s = ws_open(srv, "/poll/T");
  CHECK(iequals(*header(s->head(), "Upgrade"), "websocket"));
  CHECK(iequals(*header(s->head(), "Connection"), "Upgrade"));
  CHECK(*header(s->head(), "Sec-WebSocket-Accept") == kAccept);
  CHECK(s->body().empty()); // nothing before the first event
  REQUIRE(wait_until([&] { return srv.stats()["subscribers"] == 1; }));
  auto metrics = srv.get("/metrics");
  REQUIRE_RESPONSE(metrics);
  CHECK(metrics->body.find("eventsource_subscribers{kind=\"websocket\"} 1\n") != std::string::npos);
}

TEST_CASE("websocket: each event is one text frame with data, event, id and retry, the same for every subscriber") {
  Server srv({"-i"});
  INFO("server log:\n" << srv.log());
  auto a = ws_open(srv, "/poll/T");
  auto b = ws_open(srv, "/poll/T");
  auto sse = srv.subscribe("/poll/T");
  REQUIRE(wait_until([&] { return srv.stats()["subscribers"] == 3; }));
  REQUIRE_RESPONSE(srv.post("/ping/T", "line one\nline \"two\" \xC3\xA9"));
  REQUIRE_RESPONSE(srv.post("/retry/T", "2500"));
  REQUIRE_RESPONSE(srv.post("/close/T", "bye"));
  const auto frames = read_frames(*a, 4);
  REQUIRE(frames.size() == 4);
  CHECK(frames[0].payload == "{\"data\":\"line one\\nline \\\"two\\\" \xC3\xA9\",\"event\":\"ping\",\"id\":\"1\"}");
  CHECK(frames[1].payload == "{\"data\":\"\",\"id\":\"2\",\"retry\":2500}");
  CHECK(frames[2].payload == "{\"data\":\"bye\",\"event\":\"close\",\"id\":\"3\"}");
  // After the close action's event: a close frame 1000.
  CHECK(frames[3].opcode == 0x8);
  CHECK(frames[3].close_code() == 1000);
  CHECK(a->read_until_closed());
  // Every WebSocket subscriber got the same bytes; the SSE one its own framing.
  CHECK(read_frames(*b, 4).size() == 4);
  CHECK(b->body() == a->body());
  REQUIRE(read_events(*sse, 3));
  CHECK(sse->body().find("event: ping\ndata: line one\ndata: line \"two\" \xC3\xA9\n\n") != std::string::npos);
}

TEST_CASE("websocket: with -j the data is the JSON value itself, as the publisher wrote it") {
  Server srv({"-j"});
  auto s = ws_open(srv, "/poll/T");
  REQUIRE(wait_until([&] { return srv.stats()["subscribers"] == 1; }));
  REQUIRE_RESPONSE(srv.post("/ping/T", "{\"zeta\": 1, \"alpha\": [true, null]}"));
  const auto frames = read_frames(*s, 1);
  REQUIRE(frames.size() == 1);
  CHECK(frames[0].payload == "{\"data\":{\"zeta\":1,\"alpha\":[true,null]},\"event\":\"ping\"}");
}

TEST_CASE("websocket: ?lastEventId= replays what was missed, and a gap is told as for SSE") {
  Server srv({"-i", "--history", "2"});
  auto first = ws_open(srv, "/poll/T");
  REQUIRE(wait_until([&] { return srv.stats()["subscribers"] == 1; }));
  for (int i = 1; i <= 4; ++i) REQUIRE_RESPONSE(srv.post("/ping/T", "e" + std::to_string(i)));
  auto resumed = ws_open(srv, "/poll/T?lastEventId=3");
  auto behind = ws_open(srv, "/poll/T?lastEventId=1");
  auto replayed = read_frames(*resumed, 1);
  REQUIRE(replayed.size() == 1);
  CHECK(text_json(replayed[0]) == json{{"data", "e4"}, {"event", "ping"}, {"id", "4"}});
  auto gap = read_frames(*behind, 3);
  REQUIRE(gap.size() == 3);
  CHECK(text_json(gap[0]) == json{{"data", "1"}, {"event", "gap"}});
  CHECK(text_json(gap[1])["id"] == "3");
  CHECK(text_json(gap[2])["id"] == "4");
}

TEST_CASE("websocket: -k sends ping frames, a client ping gets its pong, pongs and messages are ignored") {
  Server srv({"-k", "100"});
  auto s = ws_open(srv, "/poll/T");
  s->send(client_frame(0x1, "hello server") + client_frame(0xA, "unasked pong") + client_frame(0x9, "are you there"));
  s->read_until([&](const std::string&) {
    const auto frames = parse_frames(s->body());
    bool pong = false, ping = false;
    for (const auto& f : frames) {
      pong = pong || (f.opcode == 0xA && f.payload == "are you there");
      ping = ping || (f.opcode == 0x9 && f.payload.rfind("keepalive ", 0) == 0);
    }
    return pong && ping;
  });
  bool pong = false, ping = false;
  for (const auto& f : parse_frames(s->body())) {
    pong = pong || (f.opcode == 0xA && f.payload == "are you there");
    ping = ping || (f.opcode == 0x9 && f.payload.rfind("keepalive ", 0) == 0);
    CHECK(f.opcode != 0x8); // still open
  }
  CHECK(pong);
  CHECK(ping);
}

TEST_CASE("websocket: a close from the client gets the closing handshake, and the server counts it gone") {
  Server srv;
  auto s = ws_open(srv, "/poll/T");
  REQUIRE(wait_until([&] { return srv.stats()["subscribers"] == 1; }));
  s->send(client_frame(0x8, std::string("\x0f\xa0", 2) + "bye")); // 4000
  const auto frames = read_frames(*s, 1);
  REQUIRE(frames.size() == 1);
  CHECK(frames[0].opcode == 0x8);
  CHECK(frames[0].close_code() == 4000);
  s->close();
  REQUIRE(wait_until([&] { return srv.stats()["subscribers"] == 0; }));
  CHECK(wait_until([&] { return srv.log().find("\"GET /poll/T HTTP/1.1\" 101 stream") != std::string::npos; }));
}

TEST_CASE("websocket: client frames that break the RFC get close 1002, one too big 1009, and the others are unharmed") {
  Server srv({"-i"});
  struct Case {
    std::string bytes;
    std::uint16_t code;
    const char* what;
  };
  const std::vector<Case> cases = {
      {client_frame(0x1, "x", true, 0, false), 1002, "unmasked"},
      {client_frame(0x1, "x", true, 0x20), 1002, "reserved bit"},
      {client_frame(0x9, "x", false), 1002, "fragmented control frame"},
      {client_frame(0x9, std::string(126, 'p')), 1002, "control frame over 125 bytes"},
      {client_frame(0x1, std::string(5000, 'x')), 1009, "message over the limit"},
      {client_frame(0x8, std::string("\x03\xed", 2)), 1002, "close code 1005 sent on the wire"},
  };
  auto bystander = ws_open(srv, "/poll/T");
  for (const Case& c : cases) {
    CAPTURE(c.what);
    auto s = ws_open(srv, "/poll/T");
    s->send(c.bytes);
    const auto frames = read_frames(*s, 1);
    REQUIRE(frames.size() == 1);
    CHECK(frames[0].opcode == 0x8);
    CHECK(frames[0].close_code() == c.code);
    CHECK(s->read_until_closed());
  }
  REQUIRE_RESPONSE(srv.post("/ping/T", "still here"));
  const auto frames = read_frames(*bystander, 1);
  REQUIRE(frames.size() == 1);
  CHECK(text_json(frames[0])["data"] == "still here");
}

TEST_CASE("websocket: a bad handshake is 400 with the reason and Sec-WebSocket-Version: 13") {
  Server srv;
  const RawResponse wrong_version = raw_get_response(
      srv.port(), "/poll/T",
      {"Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Key: " + kKey, "Sec-WebSocket-Version: 8"});
  CHECK(wrong_version.status == 400);
  CHECK(wrong_version.body == "WebSocket handshake refused: Sec-WebSocket-Version 8 is not supported (only 13)\n");
  CHECK(*header(wrong_version.head, "Sec-WebSocket-Version") == "13");
  const RawResponse no_key = raw_get_response(
      srv.port(), "/poll/T", {"Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 13"});
  CHECK(no_key.status == 400);
  CHECK(no_key.body == "WebSocket handshake refused: Sec-WebSocket-Key is missing\n");
}

TEST_CASE("websocket: with --cors-origin a page from another origin is refused 403 (cross-site WebSocket hijacking)") {
  Server srv({"--cors-origin", "https://a.example"});
  const RawResponse evil = raw_get_response(srv.port(), "/poll/T", upgrade_headers({"Origin: https://evil.example"}));
  CHECK(evil.status == 403);
  CHECK(evil.body == "WebSocket refused: Origin https://evil.example is not allowed (--cors-origin)\n");
  ws_open(srv, "/poll/T", {"Origin: https://a.example"});
  ws_open(srv, "/poll/T"); // no Origin: not a browser
}

TEST_CASE("websocket: --exclusive and --max-subscribers count both kinds") {
  Server srv({"--exclusive"});
  auto s = ws_open(srv, "/poll/T");
  REQUIRE(wait_until([&] { return srv.stats()["subscribers"] == 1; }));
  CHECK(raw_get_response(srv.port(), "/poll/T").status == 423);
  CHECK(raw_get_response(srv.port(), "/poll/T", upgrade_headers()).status == 423);
}

TEST_CASE("websocket: a server stopping says 1001 (going away)") {
  Server srv;
  auto s = ws_open(srv, "/poll/T");
  REQUIRE(wait_until([&] { return srv.stats()["subscribers"] == 1; }));
  srv.process().signal(SIGTERM);
  const auto frames = read_frames(*s, 1);
  REQUIRE(frames.size() == 1);
  CHECK(frames[0].opcode == 0x8);
  CHECK(frames[0].close_code() == 1001);
}

TEST_CASE("websocket: a subscriber that stops reading is cut off with close 1008 and counted") {
  Server srv({"--max-queue", "65536"});
  INFO("server log:\n" << srv.log());
  auto slow = ws_open(srv, "/poll/T");
  REQUIRE(wait_until([&] { return srv.stats()["subscribers"] == 1; }));
  const std::string data(16 * 1024, 'd');
  auto client = srv.client();
  client.set_keep_alive(true);
  // Kernel buffers on loopback take megabytes before the queue grows at all.
  for (int i = 0; i < 4000; ++i) {
    REQUIRE_RESPONSE(client.Post("/ping/T", data, "text/plain"));
    if (i % 32 == 31 && srv.stats()["slow_disconnects"] == 1) break;
  }
  REQUIRE(wait_until([&] { return srv.stats()["slow_disconnects"] == 1; }));
  // Now read: what was in flight, then the close frame (a client that does
  // not catch up within 2 s is dropped without it).
  CHECK(slow->read_until_closed(20s));
  const auto frames = parse_frames(slow->body());
  REQUIRE_FALSE(frames.empty());
  CHECK(frames.back().opcode == 0x8);
  CHECK(frames.back().close_code() == 1008);
}

TEST_CASE("websocket: an independent client (python3-websockets) receives events and the close code") {
  Server srv({"-i"});
  const std::filesystem::path script = std::filesystem::temp_directory_path() /
                                        ("es-ws-client-" + std::to_string(::getpid()) + ".py");
  {
    std::ofstream out(script);
    out << R"(import asyncio, json, sys, websockets
async def main(url):
    async with websockets.connect(url) as ws:
        print("open", flush=True)
        try:
            async for message in ws:
                print(message, flush=True)
        except websockets.ConnectionClosed:
            pass
        print("closed", ws.close_code, ws.close_reason, flush=True)
asyncio.run(main(sys.argv[1]))
)";
  }
  Process client({"/usr/bin/python3", script.string(), "ws://127.0.0.1:" + std::to_string(srv.port()) + "/poll/T"});
  REQUIRE(client.wait_for_line(std::regex("^open$"), 20s, true));
  REQUIRE(wait_until([&] { return srv.stats()["subscribers"] == 1; }));
  REQUIRE_RESPONSE(srv.post("/ping/T", "hello"));
  REQUIRE_RESPONSE(srv.post("/close/T", ""));
  CHECK(client.wait_exit(20s) == 0);
  std::filesystem::remove(script);
  CHECK(client.out() == "open\n{\"data\":\"hello\",\"event\":\"ping\",\"id\":\"1\"}\n"
                        "{\"data\":\"\",\"event\":\"close\",\"id\":\"2\"}\nclosed 1000 token closed\n");
}
