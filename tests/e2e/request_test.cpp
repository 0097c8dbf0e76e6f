// SPDX-License-Identifier: GPL-3.0-or-later
// eventsource-request as a real process: what it sends, what it prints, its
// exit statuses and messages; against a scripted server and a real
// eventsource-server.
#include <doctest/doctest.h>

#include "harness.hpp"
#include "sse_fixture.hpp"

#include <memory>

using namespace es::test;

namespace {

std::string request_path() { return program_path("eventsource-request"); }

std::vector<std::string> request_args(int port, std::vector<std::string> more) {
  std::vector<std::string> args{request_path(), "-P", std::to_string(port)};
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

Script answer(const std::string& status, const std::string& type, const std::string& body) {
  return answer_and_close("HTTP/1.1 " + status + "\r\nContent-Type: " + type +
                          "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
}

const std::string kAccepted = "{\"id\":\"7\",\"subscribers\":1}\n";

}  // namespace

TEST_CASE("eventsource-request: POSTs DATA to /ACTION/TOKEN and prints the answer") {
  FixtureServer server({answer("200 OK", "application/json", kAccepted)});
  Process p(request_args(server.port(), {"a token", "ping", "hello\nworld"}));
  REQUIRE(p.wait_exit() == 0);
  CHECK(out_once(p, kAccepted) == kAccepted);
  CHECK(p.err().empty());
  auto r = server.requests().at(0);
  CHECK(r.method == "POST");
  CHECK(r.target == "/ping/a%20token");
  CHECK(r.body == "hello\nworld");
  CHECK(r.header("content-type") == "text/plain; charset=utf-8");
}

TEST_CASE("eventsource-request: without DATA, or with -, the data comes from standard input") {
  for (const auto& dash : std::vector<std::vector<std::string>>{{}, {"-"}}) {
    FixtureServer server({answer("200 OK", "application/json", kAccepted)});
    std::vector<std::string> args{"tok", "ping"};
    args.insert(args.end(), dash.begin(), dash.end());
    Process p(request_args(server.port(), args));
    p.write_stdin("from\r\na pipe\n");
    p.close_stdin();
    REQUIRE(p.wait_exit() == 0);
    CHECK(server.requests().at(0).body == "from\r\na pipe\n");
  }
}

TEST_CASE("eventsource-request: -j sends valid JSON as application/json") {
  FixtureServer server({answer("200 OK", "application/json", kAccepted)});
  Process p(request_args(server.port(), {"tok", "ping", "-j", "{\"a\": [1, 2]}"}));
  REQUIRE(p.wait_exit() == 0);
  auto r = server.requests().at(0);
  CHECK(r.header("content-type") == "application/json");
  CHECK(r.body == "{\"a\": [1, 2]}");
}

TEST_CASE("eventsource-request: -j refuses malformed JSON (5), says where, and sends nothing") {
  FixtureServer server({answer("200 OK", "application/json", kAccepted)});
  Process p(request_args(server.port(), {"tok", "ping", "-j"}));
  p.write_stdin("{\n  \"a\": 1,\n  \"b\": tru\n}\n");
  p.close_stdin();
  REQUIRE(p.wait_exit() == 5);
  CHECK(p.err() ==
        "eventsource-request: data is not valid JSON: syntax error while parsing value - invalid literal; "
        "last read: '\"b\": tru<U+000A>' at line 4, column 0\n");
  CHECK(p.out().empty());
  CHECK(server.connection_count() == 0);
}

TEST_CASE("eventsource-request: an HTTP error exits 1 with the status and the server's reason") {
  FixtureServer server({answer("404 Not Found", "text/plain", "Target is not connected\n")});
  Process p(request_args(server.port(), {"tok", "ping", "x"}));
  REQUIRE(p.wait_exit() == 1);
  const std::string expected_err = "eventsource-request: 404 Not Found: Target is not connected\n";
  CHECK(err_once(p, expected_err) == expected_err);
  CHECK(p.out().empty());
}

TEST_CASE("eventsource-request: a refused connection exits 4 and suggests starting the server") {
  const int port = unused_port();
  Process p(request_args(port, {"tok", "ping", "x"}));
  REQUIRE(p.wait_exit() == 4);
  const std::string expected_err = "eventsource-request: cannot reach 127.0.0.1:" + std::to_string(port) +
                     ": connection refused (is eventsource-server running?)\n";
  CHECK(err_once(p, expected_err) == expected_err);
}

TEST_CASE("eventsource-request: a server that does not answer in time exits 3") {
  FixtureServer server({[](FixtureConnection& c) {
    c.read_request();
    c.hold();
  }});
  const auto t0 = Clock::now();
  Process p(request_args(server.port(), {"tok", "ping", "x", "--timeout", "0.3"}));
  REQUIRE(p.wait_exit() == 3);
  CHECK(Clock::now() - t0 < 5s);
  const std::string expected_err = "eventsource-request: 127.0.0.1:" + std::to_string(server.port()) +
                     " did not answer within 300 ms\n";
  CHECK(err_once(p, expected_err) == expected_err);
}

TEST_CASE("eventsource-request: --url posts to BASE/ACTION/TOKEN behind a prefix") {
  FixtureServer server({answer("202 Accepted", "application/json", "{\"id\":\"3\",\"subscribers\":0,\"stored\":true}")});
  Process p({request_path(), "t/1", "retry", "5000", "--url", server.url("/events/")});
  REQUIRE(p.wait_exit() == 0);
  const std::string expected_out = "{\"id\":\"3\",\"subscribers\":0,\"stored\":true}\n";
  CHECK(out_once(p, expected_out) == expected_out);
  CHECK(server.requests().at(0).target == "/events/retry/t%2F1");
}

TEST_CASE("eventsource-request: usage errors exit 2") {
  struct Case {
    std::vector<std::string> args;
    std::string err;
  };
  const std::vector<Case> cases{
      {{"tok"}, "ACTION is required\nRun with --help for more information.\n"},
      {{"tok", "ping", "x", "--url", "http://h/", "-P", "1"}, "eventsource-request: --url replaces -H, -P and -S (see --help)\n"},
      {{"tok", "ping", "x", "--url", "gopher://h/"},
       "eventsource-request: --url: unsupported scheme 'gopher' in URL (use http or https) (see --help)\n"},
      {{"tok", "ping", "x", "--timeout", "0"}, "eventsource-request: --timeout wants a number of seconds above 0 (see --help)\n"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> argv{request_path()};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    Process p(argv);
    CHECK(p.wait_exit() == 2);
    CHECK(err_once(p, c.err) == c.err);
  }
}

TEST_CASE("eventsource-request: with eventsource-server, an event reaches a subscriber, no subscriber is an error") {
  Process server({program_path("eventsource-server"), "-H", "127.0.0.1", "-P", "0"});
  const int port = server.wait_for_port();

  Process nobody(request_args(port, {"tok", "ping", "x"}));
  REQUIRE(nobody.wait_exit() == 1);
  const std::string nobody_err = "eventsource-request: 404 Not Found: Target is not connected\n";
  CHECK(err_once(nobody, nobody_err) == nobody_err);

  RawStream subscriber(port);
  subscriber.send_get("/poll/tok");
  REQUIRE(subscriber.read_until_contains("\r\n\r\n"));
  Process p(request_args(port, {"tok", "ping", "hello"}));
  REQUIRE(p.wait_exit() == 0);
  const std::string expected_out = "{\"id\":null,\"subscribers\":1}\n";
  CHECK(out_once(p, expected_out) == expected_out);
  CHECK(subscriber.read_until_contains("event: ping\ndata: hello\n\n"));

  Process bad(request_args(port, {"tok", "nope", "x"}));
  REQUIRE(bad.wait_exit() == 1);
  const std::string bad_err = "eventsource-request: 404 Not Found: Unknown action requested\n";
  CHECK(err_once(bad, bad_err) == bad_err);
}

TEST_CASE("eventsource-request: -j against eventsource-server -j delivers compact JSON") {
  Process server({program_path("eventsource-server"), "-H", "127.0.0.1", "-P", "0", "-j", "-i"});
  const int port = server.wait_for_port();
  RawStream subscriber(port);
  subscriber.send_get("/poll/tok");
  REQUIRE(subscriber.read_until_contains("\r\n\r\n"));
  Process p(request_args(port, {"tok", "ping", "-j"}));
  p.write_stdin("{ \"n\" : 1 }");
  p.close_stdin();
  REQUIRE(p.wait_exit() == 0);
  const std::string expected_out = "{\"id\":\"1\",\"subscribers\":1}\n";
  CHECK(out_once(p, expected_out) == expected_out);
  CHECK(subscriber.read_until_contains("id: 1\nevent: ping\ndata: {\"n\":1}\n\n"));
}
