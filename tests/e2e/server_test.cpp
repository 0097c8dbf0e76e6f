// SPDX-License-Identifier: GPL-3.0-or-later
// eventsource-server, black box: real processes on loopback, real sockets.
// Every expectation comes from the agreed command line and protocol of the
// server (docs/architecture.md, "Wire format decisions"): exact wire bytes of
// each event kind, every status and its one-line text/plain message, the
// JSON answers, fan-out, history and Last-Event-ID, limits, CORS, shutdown.
//
// Streams are read with es::test::RawStream (exact bytes); POSTs and plain
// requests go through httplib::Client. Servers bind 127.0.0.1 on port 0 and
// run with keepalives off (-k 0) unless a test is about keepalives, so that an
// exact-bytes comparison never meets a comment it did not ask for.

#include "harness.hpp"

#include <doctest/doctest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <sys/socket.h>
#include <unistd.h>

namespace {

using namespace es::test;
using nlohmann::json;

// ---------------------------------------------------------------------------
// HTTP and SSE helpers (test-local: they read what the server wrote)

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool icontains(std::string_view haystack, std::string_view needle) {
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         }) != haystack.end();
}

/// The value of header `name` in a response head (status line + "Name: value\r\n" lines).
std::optional<std::string> header(const std::string& head, std::string_view name) {
  size_t line = head.find("\r\n");
  while (line != std::string::npos) {
    line += 2;
    size_t end = head.find("\r\n", line);
    if (end == std::string::npos || end == line) break;
    std::string_view field(head.data() + line, end - line);
    size_t colon = field.find(':');
    if (colon != std::string_view::npos && iequals(field.substr(0, colon), name)) {
      std::string_view value = field.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
      return std::string(value);
    }
    line = end;
  }
  return std::nullopt;
}

/// One complete HTTP/1.1 response read off a raw connection (Content-Length framed).
struct RawResponse {
  int status = 0;
  std::string head; // status line and headers, each ending in CRLF
  std::string body;
  size_t end = 0; // offset just past this response in the connection's bytes
};

std::optional<RawResponse> parse_response(const std::string& bytes, size_t from = 0) {
  size_t head_end = bytes.find("\r\n\r\n", from);
  if (head_end == std::string::npos) return std::nullopt;
  RawResponse r;
  r.head = bytes.substr(from, head_end + 2 - from);
  if (r.head.size() < 12 || r.head.compare(0, 9, "HTTP/1.1 ") != 0) return std::nullopt;
  r.status = std::stoi(r.head.substr(9, 3));
  size_t length = 0;
  if (auto cl = header(r.head, "Content-Length")) length = std::stoul(*cl);
  size_t body_start = head_end + 4;
  if (bytes.size() < body_start + length) return std::nullopt;
  r.body = bytes.substr(body_start, length);
  r.end = body_start + length;
  return r;
}

/// An event as it appeared on the wire (LF-framed, as the server writes it).
struct WireEvent {
  std::string id, name, data, retry;
  friend bool operator==(const WireEvent&, const WireEvent&) = default;
};

/// Complete blocks (text before each blank line) of an event stream, leaving
/// out blocks made only of comments (keepalives).
std::vector<std::string> event_blocks(std::string_view body) {
  std::vector<std::string> blocks;
  size_t start = 0;
  for (;;) {
    size_t end = body.find("\n\n", start);
    if (end == std::string_view::npos) break;
    std::string_view block = body.substr(start, end + 1 - start);
    start = end + 2;
    bool has_field = false;
    size_t pos = 0;
    while (pos < block.size()) {
      size_t eol = block.find('\n', pos);
      if (eol > pos && block[pos] != ':') has_field = true;
      pos = eol + 1;
    }
    if (has_field) blocks.emplace_back(block);
  }
  return blocks;
}

std::vector<WireEvent> parse_events(std::string_view body) {
  std::vector<WireEvent> events;
  for (const auto& block : event_blocks(body)) {
    WireEvent e;
    bool first_data = true;
    size_t pos = 0;
    while (pos < block.size()) {
      size_t eol = block.find('\n', pos);
      std::string_view line(block.data() + pos, eol - pos);
      pos = eol + 1;
      size_t colon = line.find(':');
      std::string_view field = line.substr(0, colon);
      std::string_view value = colon == std::string_view::npos ? std::string_view() : line.substr(colon + 1);
      if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      if (field == "id") e.id = value;
      if (field == "event") e.name = value;
      if (field == "retry") e.retry = value;
      if (field == "data") {
        if (!first_data) e.data += '\n';
        e.data += value;
        first_data = false;
      }
    }
    events.push_back(std::move(e));
  }
  return events;
}

/// Counts complete non-comment events of a growing stream without rescanning
/// it, for streams of many megabytes.
class EventCounter {
 public:
  size_t update(const std::string& bytes) {
    if (block_ == std::string::npos) {
      size_t head_end = bytes.find("\r\n\r\n");
      if (head_end == std::string::npos) return 0;
      block_ = scan_ = head_end + 4;
    }
    for (;;) {
      size_t end = bytes.find("\n\n", scan_);
      if (end == std::string::npos) {
        scan_ = std::max(block_, bytes.size() > 0 ? bytes.size() - 1 : 0);
        return count_;
      }
      if (bytes[block_] != ':') ++count_; // comment blocks (keepalives) are not events
      block_ = scan_ = end + 2;
    }
  }
  size_t count() const { return count_; }

 private:
  size_t block_ = std::string::npos;
  size_t scan_ = 0;
  size_t count_ = 0;
};

/// The wire form the server writes for a named event (docs/architecture.md:
/// LF line ends; field order id, retry, event, data).
std::string wire(std::string_view name, std::string_view data, std::string_view id = {}) {
  std::string out;
  if (!id.empty()) out += "id: " + std::string(id) + "\n";
  out += "event: " + std::string(name) + "\n";
  out += "data: " + std::string(data) + "\n\n";
  return out;
}

// ---------------------------------------------------------------------------
// A server process and ways to talk to it

class Server {
 public:
  explicit Server(std::vector<std::string> options = {}) {
    std::vector<std::string> argv{program_path("eventsource-server"), "-H", "127.0.0.1", "-P", "0"};
    bool keepalive_given = std::any_of(options.begin(), options.end(),
                                       [](const std::string& o) { return o == "-k" || o == "--keepalive"; });
    if (!keepalive_given) argv.insert(argv.end(), {"-k", "0"});
    argv.insert(argv.end(), options.begin(), options.end());
    process_ = std::make_unique<Process>(argv);
    port_ = process_->wait_for_port();
  }

  int port() const { return port_; }
  Process& process() { return *process_; }
  std::string log() const { return process_->err(); }

  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_connection_timeout(5s);
    c.set_read_timeout(15s);
    c.set_write_timeout(15s);
    // Without it a POST's body waits for the ACK of its head (Nagle against
    // delayed ACK): 40 ms a request, a client artefact that hides nothing.
    c.set_tcp_nodelay(true);
    return c;
  }

  httplib::Result post(const std::string& path, const std::string& body, const httplib::Headers& headers = {}) const {
    auto c = client();
    return c.Post(path.c_str(), headers, body, "text/plain");
  }

  httplib::Result get(const std::string& path, const httplib::Headers& headers = {}) const {
    auto c = client();
    return c.Get(path.c_str(), headers);
  }

  json stats() const {
    auto res = get("/stats");
    REQUIRE_MESSAGE(res, "GET /stats failed: " << httplib::to_string(res.error()));
    REQUIRE(res->status == 200);
    return json::parse(res->body);
  }

  /// Opens a stream with a raw GET and waits for its response head; requires 200.
  std::unique_ptr<RawStream> subscribe(const std::string& path, const std::vector<std::string>& headers = {}) const {
    auto s = std::make_unique<RawStream>(port_);
    s->send_get(path, headers);
    REQUIRE_MESSAGE(s->read_until_contains("\r\n\r\n", 10s), "no response head for GET " << path
                                                                                          << "; got: " << s->bytes());
    REQUIRE_MESSAGE(s->head().starts_with("HTTP/1.1 200"), "GET " << path << " answered: " << s->head());
    return s;
  }

 private:
  std::unique_ptr<Process> process_;
  int port_ = 0;
};

/// Reads until the stream holds `n` complete events (comments not counted).
bool read_events(RawStream& s, size_t n, std::chrono::milliseconds timeout = 10s) {
  return s.read_until([n](const std::string& b) { return EventCounter().update(b) >= n; }, timeout);
}

/// The response to a raw GET that the server refuses (status, headers, body).
RawResponse raw_get_response(int port, const std::string& path, const std::vector<std::string>& headers = {}) {
  RawStream s(port);
  s.send_get(path, headers);
  s.read_until([](const std::string& b) { return parse_response(b).has_value(); }, 10s);
  auto r = parse_response(s.bytes());
  REQUIRE_MESSAGE(r, "no complete response to GET " << path << "; got: " << s.bytes());
  return *r;
}

/// Requires that a request got an answer (any status); evaluates `expr` once.
#define REQUIRE_RESPONSE(expr)                                                              \
  do {                                                                                      \
    const httplib::Result& answer_ = (expr);                                                \
    REQUIRE_MESSAGE(static_cast<bool>(answer_), "request failed: " << httplib::to_string(answer_.error())); \
  } while (false)

} // namespace

// ===========================================================================
// Streams: headers and the wire bytes of each event kind

TEST_CASE("server: a subscription is answered 200 with its stream headers at once, before any event") {
  Server srv;
  INFO("server log:\n" << srv.log());
  RawStream s(srv.port());
  // A gzip-accepting client must still get an uncompressed, unchunked stream.
  s.send_get("/poll/T", {"Accept: text/event-stream", "Accept-Encoding: gzip, deflate, br"});
  REQUIRE(s.read_until_contains("\r\n\r\n", 5s));
  const std::string head = s.head();
  CHECK(head.starts_with("HTTP/1.1 200 OK\r\n"));
  CHECK(header(head, "Content-Type") == "text/event-stream");
  CHECK(header(head, "Cache-Control") == "no-cache");
  CHECK(header(head, "X-Accel-Buffering") == "no");
  CHECK_FALSE(header(head, "Transfer-Encoding").has_value());
  CHECK_FALSE(header(head, "Content-Encoding").has_value());
  CHECK_FALSE(header(head, "Content-Length").has_value());
  CHECK(s.body().empty());
  CHECK_FALSE(s.closed());
}

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

// ===========================================================================
// Statuses and their messages

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

TEST_CASE("server: --exclusive answers a second subscriber with 423 'Token is already in use' until the first leaves") {
  Server srv({"--exclusive"});
  INFO("server log:\n" << srv.log());
  auto first = srv.subscribe("/poll/T");
  auto refused = raw_get_response(srv.port(), "/poll/T");
  CHECK(refused.status == 423);
  CHECK(refused.head.starts_with("HTTP/1.1 423 Locked\r\n"));
  CHECK(header(refused.head, "Content-Type").value_or("").starts_with("text/plain"));
  CHECK(refused.body == "Token is already in use\n");

  auto other_token = srv.subscribe("/poll/U"); // other tokens are free

  auto res = srv.post("/ping/T", "only one");
  REQUIRE_RESPONSE(res);
  CHECK(json::parse(res->body) == json{{"id", nullptr}, {"subscribers", 1}});
  REQUIRE(read_events(*first, 1));

  first->close();
  std::unique_ptr<RawStream> second;
  CHECK(wait_until([&] {
    auto s = std::make_unique<RawStream>(srv.port());
    s->send_get("/poll/T");
    if (!s->read_until_contains("\r\n\r\n", 5s) || !s->head().starts_with("HTTP/1.1 200")) return false;
    second = std::move(s);
    return true;
  }));
  REQUIRE(second);
  REQUIRE_RESPONSE(srv.post("/ping/T", "next"));
  REQUIRE(read_events(*second, 1));
  CHECK(second->body() == wire("ping", "next"));
}

TEST_CASE("server: past --max-subscribers a subscriber is answered 503 'Too many subscribers'") {
  Server srv({"--max-subscribers", "2"});
  INFO("server log:\n" << srv.log());
  auto a = srv.subscribe("/poll/A");
  auto b = srv.subscribe("/poll/B");
  auto refused = raw_get_response(srv.port(), "/poll/C");
  CHECK(refused.status == 503);
  CHECK(header(refused.head, "Content-Type").value_or("").starts_with("text/plain"));
  CHECK(refused.body == "Too many subscribers\n");
  auto same_token = raw_get_response(srv.port(), "/poll/A");
  CHECK(same_token.status == 503);

  a->close();
  std::unique_ptr<RawStream> c;
  CHECK(wait_until([&] {
    auto s = std::make_unique<RawStream>(srv.port());
    s->send_get("/poll/C");
    if (!s->read_until_contains("\r\n\r\n", 5s) || !s->head().starts_with("HTTP/1.1 200")) return false;
    c = std::move(s);
    return true;
  }));
  REQUIRE(c);
  REQUIRE_RESPONSE(srv.post("/ping/C", "in"));
  REQUIRE(read_events(*c, 1));
  CHECK(c->body() == wire("ping", "in"));
}

TEST_CASE("server: a GET with another action than the listen action is 404 naming the listen action") {
  SUBCASE("default listen action") {
    Server srv;
    INFO("server log:\n" << srv.log());
    auto r = raw_get_response(srv.port(), "/other/T");
    CHECK(r.status == 404);
    CHECK(header(r.head, "Content-Type").value_or("").starts_with("text/plain"));
    CHECK(r.body == "Unknown listen action: subscribe with GET /poll/TOKEN\n");
  }
  SUBCASE("--listen-action listen") {
    Server srv({"--listen-action", "listen"});
    INFO("server log:\n" << srv.log());
    auto r = raw_get_response(srv.port(), "/poll/T");
    CHECK(r.status == 404);
    CHECK(r.body == "Unknown listen action: subscribe with GET /listen/TOKEN\n");
    auto s = srv.subscribe("/listen/T");
    REQUIRE_RESPONSE(srv.post("/ping/T", "via listen"));
    REQUIRE(read_events(*s, 1));
    CHECK(s->body() == wire("ping", "via listen"));
  }
}

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

// ===========================================================================
// History: Last-Event-ID, the gap signal, --latest, --history-age

TEST_CASE("server: Last-Event-ID replays the events after that id, then the stream goes on") {
  Server srv({"-i"});
  INFO("server log:\n" << srv.log());
  auto live = srv.subscribe("/poll/T");
  for (const char* body : {"a", "b", "c"}) REQUIRE_RESPONSE(srv.post("/ping/T", body));
  REQUIRE(read_events(*live, 3));
  auto resumed = srv.subscribe("/poll/T", {"Last-Event-ID: 1"});
  REQUIRE(read_events(*resumed, 2));
  CHECK(resumed->body() == wire("ping", "b", "2") + wire("ping", "c", "3"));
  auto res = srv.post("/ping/T", "d");
  REQUIRE_RESPONSE(res);
  CHECK(json::parse(res->body) == json{{"id", "4"}, {"subscribers", 2}});
  REQUIRE(read_events(*resumed, 3));
  CHECK(resumed->body() == wire("ping", "b", "2") + wire("ping", "c", "3") + wire("ping", "d", "4"));
  // The latest id: nothing to replay.
  auto current = srv.subscribe("/poll/T", {"Last-Event-ID: 4"});
  REQUIRE_RESPONSE(srv.post("/ping/T", "e"));
  REQUIRE(read_events(*current, 1));
  CHECK(current->body() == wire("ping", "e", "5"));
}

TEST_CASE("server: ?lastEventId= replays as the Last-Event-ID header does") {
  Server srv({"-i"});
  INFO("server log:\n" << srv.log());
  for (const char* body : {"a", "b", "c"}) {
    auto res = srv.post("/ping/T", body);
    REQUIRE_RESPONSE(res);
    CHECK(res->status == 202);
  }
  auto resumed = srv.subscribe("/poll/T?lastEventId=2");
  REQUIRE(read_events(*resumed, 1));
  CHECK(resumed->body() == wire("ping", "c", "3"));
}

TEST_CASE("server: an id no longer in history is told by a gap event, then all the history there is") {
  Server srv({"-i", "--history", "2"});
  INFO("server log:\n" << srv.log());
  auto live = srv.subscribe("/poll/T");
  for (const char* body : {"1", "2", "3", "4", "5"}) REQUIRE_RESPONSE(srv.post("/ping/T", body));
  REQUIRE(read_events(*live, 5));
  SUBCASE("an id that fell out of history") {
    auto resumed = srv.subscribe("/poll/T", {"Last-Event-ID: 1"});
    REQUIRE(read_events(*resumed, 3));
    CHECK(resumed->body() == "event: gap\ndata: 1\n\n" + wire("ping", "4", "4") + wire("ping", "5", "5"));
  }
  SUBCASE("an id the server never gave") {
    auto resumed = srv.subscribe("/poll/T", {"Last-Event-ID: from-before-a-restart"});
    REQUIRE(read_events(*resumed, 3));
    CHECK(resumed->body() ==
          "event: gap\ndata: from-before-a-restart\n\n" + wire("ping", "4", "4") + wire("ping", "5", "5"));
  }
  SUBCASE("the query form") {
    auto resumed = srv.subscribe("/poll/T?lastEventId=2");
    REQUIRE(read_events(*resumed, 3));
    CHECK(resumed->body() == "event: gap\ndata: 2\n\n" + wire("ping", "4", "4") + wire("ping", "5", "5"));
  }
}

TEST_CASE("server: a new subscriber without Last-Event-ID gets no history") {
  Server srv({"-i"});
  INFO("server log:\n" << srv.log());
  for (const char* body : {"old 1", "old 2"}) REQUIRE_RESPONSE(srv.post("/ping/T", body));
  auto s = srv.subscribe("/poll/T");
  auto res = srv.post("/ping/T", "new");
  REQUIRE_RESPONSE(res);
  CHECK(res->status == 200);
  REQUIRE(read_events(*s, 1));
  CHECK(s->body() == wire("ping", "new", "3"));
}

TEST_CASE("server: --latest sends a new subscriber the latest stored event first") {
  Server srv({"-i", "--latest"});
  INFO("server log:\n" << srv.log());
  for (const char* body : {"older", "latest"}) REQUIRE_RESPONSE(srv.post("/ping/T", body));
  auto s = srv.subscribe("/poll/T");
  REQUIRE(read_events(*s, 1));
  REQUIRE_RESPONSE(srv.post("/ping/T", "live"));
  REQUIRE(read_events(*s, 2));
  CHECK(s->body() == wire("ping", "latest", "2") + wire("ping", "live", "3"));
  // With Last-Event-ID the replay alone counts: no repeated latest event.
  auto resumed = srv.subscribe("/poll/T", {"Last-Event-ID: 1"});
  REQUIRE(read_events(*resumed, 2));
  CHECK(resumed->body() == wire("ping", "latest", "2") + wire("ping", "live", "3"));
}

TEST_CASE("server: --latest without ids sends a new subscriber the token's latest event first") {
  Server srv({"--latest"});
  INFO("server log:\n" << srv.log());
  auto first = srv.subscribe("/poll/T");
  for (const char* body : {"older", "latest"}) REQUIRE_RESPONSE(srv.post("/ping/T", body));
  REQUIRE(read_events(*first, 2));
  auto late = srv.subscribe("/poll/T");
  REQUIRE(read_events(*late, 1));
  REQUIRE_RESPONSE(srv.post("/ping/T", "live"));
  REQUIRE(read_events(*late, 2));
  CHECK(late->body() == wire("ping", "latest") + wire("ping", "live"));
}

TEST_CASE("server: events older than --history-age are no longer replayed") {
  Server srv({"-i", "--history-age", "1"});
  INFO("server log:\n" << srv.log());
  for (const char* body : {"a", "b"}) REQUIRE_RESPONSE(srv.post("/ping/T", body));
  // Resuming from id 1 first replays b; once b is older than a second, the
  // resumed subscriber is told of the gap instead.
  std::unique_ptr<RawStream> resumed;
  CHECK(wait_until(
      [&] {
        auto s = srv.subscribe("/poll/T", {"Last-Event-ID: 1"});
        if (!read_events(*s, 1, 5s)) return false;
        if (!s->body().starts_with("event: gap\n")) {
          s.reset();
          std::this_thread::sleep_for(100ms);
          return false;
        }
        resumed = std::move(s);
        return true;
      },
      10s));
  REQUIRE(resumed);
  REQUIRE_RESPONSE(srv.post("/ping/T", "c"));
  REQUIRE(read_events(*resumed, 2));
  CHECK(resumed->body() == "event: gap\ndata: 1\n\n" + wire("ping", "c", "3"));
}

// ===========================================================================
// Keepalive, slow consumers, concurrency

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

// ===========================================================================
// /stats, CORS

TEST_CASE("server: /stats reports tokens, subscribers, events published and delivered, slow disconnects and uptime") {
  Server srv;
  INFO("server log:\n" << srv.log());
  auto a1 = srv.subscribe("/poll/A");
  auto a2 = srv.subscribe("/poll/A");
  auto b = srv.subscribe("/poll/B");
  REQUIRE_RESPONSE(srv.post("/ping/A", "1"));
  REQUIRE_RESPONSE(srv.post("/ping/A", "2"));
  REQUIRE_RESPONSE(srv.post("/ping/B", "3"));
  REQUIRE(read_events(*a1, 2));
  REQUIRE(read_events(*a2, 2));
  REQUIRE(read_events(*b, 1));

  auto res = srv.get("/stats");
  REQUIRE_RESPONSE(res);
  CHECK(res->status == 200);
  CHECK(res->get_header_value("Content-Type").starts_with("application/json"));
  CHECK(res->body.ends_with("}\n"));
  json stats = json::parse(res->body);
  CHECK(stats["tokens"] == 2);
  CHECK(stats["subscribers"] == 3);
  CHECK(stats["events_published"] == 3);
  CHECK(stats["slow_disconnects"] == 0);
  REQUIRE(stats["uptime_seconds"].is_number());
  CHECK(stats["uptime_seconds"].get<double>() >= 0);
  CHECK(wait_until([&] { return srv.stats()["events_delivered"] == 5; }, 5s));

  b->close();
  CHECK(wait_until([&] {
    json s = srv.stats();
    return s["subscribers"] == 2 && s["tokens"] == 1;
  }, 5s));
}

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
// Connections: vanished clients, keep-alive, shutdown

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

TEST_CASE("server: -d adds debug detail to the log") {
  auto lines_logged = [](std::vector<std::string> options) {
    Server srv(std::move(options));
    auto s = srv.subscribe("/poll/T");
    REQUIRE_RESPONSE(srv.post("/ping/T", "x"));
    REQUIRE(read_events(*s, 1));
    s->close();
    // The stream's end is logged in both modes: wait for it, then count.
    REQUIRE(srv.process().wait_for_line(std::regex(R"(GET /poll/T\b)"), 5s));
    const std::string log = srv.log();
    return std::count(log.begin(), log.end(), '\n');
  };
  const auto normal = lines_logged({});
  const auto debug = lines_logged({"-d"});
  CHECK(debug > normal);
}

TEST_CASE("server: SIGTERM flushes and ends every stream, exits 0 and logs 'stopped'") {
  Server srv;
  INFO("server log:\n" << srv.log());
  auto t1 = srv.subscribe("/poll/T");
  auto t2 = srv.subscribe("/poll/T");
  auto u = srv.subscribe("/poll/U");
  RawStream idle(srv.port()); // a connection that never sends a request must not hold shutdown up
  REQUIRE_RESPONSE(srv.post("/ping/T", "last words"));
  srv.process().signal(SIGTERM);
  const auto exited = srv.process().wait_exit(5s);
  REQUIRE_MESSAGE(exited, "still running 5 s after SIGTERM");
  CHECK(*exited == 0);
  for (auto* s : {t1.get(), t2.get()}) {
    CHECK(s->read_until_closed(5s));
    CHECK(s->body() == wire("ping", "last words"));
  }
  CHECK(u->read_until_closed(5s));
  CHECK(u->body().empty());
  CHECK(idle.read_until_closed(5s));
  CHECK(srv.process().wait_for_line(std::regex("stopped"), 5s));
}

TEST_CASE("server: SIGINT shuts down as SIGTERM does") {
  Server srv;
  INFO("server log:\n" << srv.log());
  auto s = srv.subscribe("/poll/T");
  srv.process().signal(SIGINT);
  const auto exited = srv.process().wait_exit(5s);
  REQUIRE(exited);
  CHECK(*exited == 0);
  CHECK(s->read_until_closed(5s));
  CHECK(srv.process().wait_for_line(std::regex("stopped"), 5s));
}

TEST_CASE("server: each request and each ended stream leaves an access line on stderr") {
  Server srv;
  INFO("server log:\n" << srv.log());
  auto s = srv.subscribe("/poll/T");
  REQUIRE_RESPONSE(srv.post("/ping/T", "x"));
  CHECK(srv.process().wait_for_line(std::regex(R"(POST /ping/T\b.*\b200\b|\b200\b.*POST /ping/T\b)"), 5s));
  auto missing = srv.post("/ping/nobody", "x");
  REQUIRE_RESPONSE(missing);
  CHECK(srv.process().wait_for_line(std::regex(R"(/ping/nobody\b.*\b404\b|\b404\b.*/ping/nobody\b)"), 5s));
  s->close();
  CHECK(srv.process().wait_for_line(std::regex(R"(/poll/T\b)"), 5s));
}

// ===========================================================================
// The command line

TEST_CASE("server: --help explains every option with its default, and the endpoints") {
  Process help({program_path("eventsource-server"), "--help"});
  auto status = help.wait_exit(10s);
  REQUIRE(status);
  CHECK(*status == 0);
  REQUIRE(wait_until([&] { return help.out().find("--max-queue") != std::string::npos; }, 5s));
  const std::string text = help.out();
  INFO("--help:\n" << text);
  for (const char* option :
       {"--host", "--port", "--debug", "--json", "--id", "--keepalive", "--exclusive", "--listen-action",
        "--allow-action", "--any-action", "--history", "--history-age", "--latest", "--max-body", "--max-subscribers",
        "--max-queue", "--cors-origin", "--workers", "--request-timeout", "--config", "--version", "--help"}) {
    CAPTURE(option);
    CHECK(text.find(option) != std::string::npos);
  }
  for (const char* default_value : {"0.0.0.0", "8888", "15000", "1000", "3600", "1048576", "4194304"}) {
    CAPTURE(default_value);
    CHECK(text.find(default_value) != std::string::npos);
  }
  CHECK(text.find("/poll") != std::string::npos);
  CHECK(text.find("/stats") != std::string::npos);
}

TEST_CASE("server: --version prints a version and exits 0") {
  Process version({program_path("eventsource-server"), "--version"});
  auto status = version.wait_exit(10s);
  REQUIRE(status);
  CHECK(*status == 0);
  CHECK(version.wait_for_line(std::regex(R"(\d+\.\d+\.\d+)"), 5s, true));
}

TEST_CASE("server: options can come from a --config file") {
  const auto path = std::filesystem::temp_directory_path() /
                    ("eventsource-server-e2e-" + std::to_string(::getpid()) + ".toml");
  {
    std::ofstream config(path);
    config << "json = true\nid = true\nmax-body = 32\n";
  }
  struct Remove {
    std::filesystem::path p;
    ~Remove() { std::filesystem::remove(p); }
  } remove{path};
  Server srv({"--config", path.string()});
  INFO("server log:\n" << srv.log());
  auto s = srv.subscribe("/poll/T");
  auto res = srv.post("/ping/T", "{ \"from\" : \"config\" }");
  REQUIRE_RESPONSE(res);
  CHECK(json::parse(res->body) == json{{"id", "1"}, {"subscribers", 1}});
  REQUIRE(read_events(*s, 1));
  CHECK(s->body() == wire("ping", "{\"from\":\"config\"}", "1"));
  auto big = srv.post("/ping/T", "\"" + std::string(40, 'x') + "\"");
  REQUIRE_RESPONSE(big);
  CHECK(big->status == 413);
  CHECK(big->body == "Body too large (limit 32 bytes)\n");
}
