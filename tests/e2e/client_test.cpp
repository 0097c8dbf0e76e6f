// SPDX-License-Identifier: GPL-3.0-or-later
// eventsource-client as a real process: output formats, exit statuses,
// failure reports, and the round trip with a real eventsource-server
// (subscribe, eventsource-request, close; a reconnect that resumes with
// Last-Event-ID).
#include <doctest/doctest.h>

#include "harness.hpp"
#include "sse_fixture.hpp"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <memory>

using namespace es::test;

namespace {

std::string client_path() { return program_path("eventsource-client"); }

std::vector<std::string> client_args(int port, std::vector<std::string> more) {
  std::vector<std::string> args{client_path(), "-P", std::to_string(port)};
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

std::size_t occurrences(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

const std::string kThreeEvents = stream_head() +
                                 "id: 1\nevent: greeting\ndata: hello\ndata:   indented\n\n"
                                 "data: \ndata: after an empty line\n\n"
                                 "retry: 2500\ndata: {\"n\": 3}\n\n";

/// eventsource-server on a free port, with `args`.
struct RealServer {
  std::unique_ptr<Process> process;
  int port = 0;
  explicit RealServer(std::vector<std::string> args) {
    std::vector<std::string> argv{program_path("eventsource-server"), "-H", "127.0.0.1", "-P", "0"};
    argv.insert(argv.end(), args.begin(), args.end());
    process = std::make_unique<Process>(argv);
    port = process->wait_for_port();
  }
  /// Subscribers the server counts (GET /stats).
  long subscribers() const {
    httplib::Client http("127.0.0.1", port);
    auto res = http.Get("/stats");
    if (!res || res->status != 200) return -1;
    return nlohmann::json::parse(res->body).value("subscribers", -1L);
  }
  /// eventsource-request against it; returns its exit status.
  int request(std::vector<std::string> args) const {
    std::vector<std::string> argv{program_path("eventsource-request"), "-P", std::to_string(port)};
    argv.insert(argv.end(), args.begin(), args.end());
    Process p(argv);
    return p.wait_exit(10s).value_or(-1);
  }
};

}  // namespace

TEST_CASE("eventsource-client: events are printed for people, multi-line data unambiguous") {
  FixtureServer server({answer_and_hold(kThreeEvents)});
  Process p(client_args(server.port(), {"token", "-n", "3"}));
  REQUIRE(p.wait_exit() == 0);
  const std::string expected_out = "greeting id=1\n"
      "| hello\n"
      "|   indented\n"
      "\n"
      "message id=1\n"
      "|\n"
      "| after an empty line\n"
      "\n"
      "message id=1 retry=2500ms\n"
      "| {\"n\": 3}\n"
      "\n";
  CHECK(out_once(p, expected_out) == expected_out);
  CHECK(p.err().empty());
  CHECK(server.requests().at(0).target == "/poll/token");
}

TEST_CASE("eventsource-client: --json prints one object per event and line") {
  FixtureServer server({answer_and_hold(kThreeEvents)});
  Process p(client_args(server.port(), {"token", "--json", "--count", "3"}));
  REQUIRE(p.wait_exit() == 0);
  const std::string expected_out = "{\"event\":\"greeting\",\"data\":\"hello\\n  indented\",\"id\":\"1\",\"retry\":null}\n"
      "{\"event\":\"message\",\"data\":\"\\nafter an empty line\",\"id\":\"1\",\"retry\":null}\n"
      "{\"event\":\"message\",\"data\":\"{\\\"n\\\": 3}\",\"id\":\"1\",\"retry\":2500}\n";
  CHECK(out_once(p, expected_out) == expected_out);
}

TEST_CASE("eventsource-client: --data-only prints the data alone") {
  FixtureServer server({answer_and_hold(kThreeEvents)});
  Process p(client_args(server.port(), {"token", "--data-only", "-n", "3"}));
  REQUIRE(p.wait_exit() == 0);
  const std::string expected_out = "hello\n  indented\n\nafter an empty line\n{\"n\": 3}\n";
  CHECK(out_once(p, expected_out) == expected_out);
}

TEST_CASE("eventsource-client: the server's close event ends the run with 0") {
  FixtureServer server({answer_and_hold(stream_head() + "data: one\n\nevent: close\ndata\n\ndata: never\n\n")});
  Process p(client_args(server.port(), {"token", "--data-only"}));
  REQUIRE(p.wait_exit() == 0);
  const std::string expected_out = "one\n\n";
  CHECK(out_once(p, expected_out) == expected_out);
}

TEST_CASE("eventsource-client: 204 ends the run with 1 and says why") {
  FixtureServer server({answer_and_close("HTTP/1.1 204 No Content\r\n\r\n")});
  Process p(client_args(server.port(), {"token"}));
  REQUIRE(p.wait_exit() == 1);
  const std::string expected_err = "eventsource-client: 127.0.0.1:" + std::to_string(server.port()) +
                     " answered 204 No Content: the server asks the client not to reconnect\n";
  CHECK(err_once(p, expected_err) == expected_err);
  CHECK(server.requests().size() == 1);
}

TEST_CASE("eventsource-client: a wrong Content-Type ends the run with 1") {
  FixtureServer server({answer_and_close("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")});
  Process p(client_args(server.port(), {"token"}));
  REQUIRE(p.wait_exit() == 1);
  const std::string expected_err = "eventsource-client: 127.0.0.1:" + std::to_string(server.port()) +
                     " answered with Content-Type application/json, not text/event-stream\n";
  CHECK(err_once(p, expected_err) == expected_err);
}

TEST_CASE("eventsource-client: an error status ends the run with 1 and shows the server's reason") {
  FixtureServer server({answer_and_close(
      "HTTP/1.1 423 Locked\r\nContent-Type: text/plain\r\nContent-Length: 24\r\n\r\nToken is already in use\n")});
  Process p(client_args(server.port(), {"token"}));
  REQUIRE(p.wait_exit() == 1);
  const std::string expected_err = "eventsource-client: 127.0.0.1:" + std::to_string(server.port()) +
                     " answered 423 Locked: Token is already in use\n";
  CHECK(err_once(p, expected_err) == expected_err);
}

TEST_CASE("eventsource-client: -k keeps reconnecting after the server refused the stream") {
  FixtureServer server({answer_and_close("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"),
                        answer_and_hold(stream_head() + "data: at last\n\n")});
  Process p(client_args(server.port(), {"token", "-k", "-r", "20", "-n", "1", "--data-only"}));
  REQUIRE(p.wait_exit() == 0);
  const std::string expected_out = "at last\n";
  CHECK(out_once(p, expected_out) == expected_out);
  CHECK(p.err() == "eventsource-client: 127.0.0.1:" + std::to_string(server.port()) +
                       " answered 503 Service Unavailable; retrying (-k)\n");
}

TEST_CASE("eventsource-client: a failure is reported once per kind until a stream opens, then again") {
  const auto drop = [](FixtureConnection& c) { c.read_request(); };
  FixtureServer server({drop, drop, drop, drop, answer_and_close(stream_head() + "data: one\n\n"), drop, drop, drop,
                        answer_and_hold(stream_head() + "data: two\n\n")});
  Process p(client_args(server.port(), {"token", "-r", "10", "-n", "2", "--data-only"}));
  REQUIRE(p.wait_exit(30s) == 0);
  const std::string expected_out = "one\ntwo\n";
  CHECK(out_once(p, expected_out) == expected_out);
  CHECK(server.connection_count() == 9);
  const std::string closed = "eventsource-client: 127.0.0.1:" + std::to_string(server.port()) +
                             " closed the connection without answering; retrying\n";
  // Four failures, a stream, three failures: two reports.
  wait_until([&] { return occurrences(p.err(), closed) == 2; }, 3s);
  CHECK(occurrences(p.err(), closed) == 2);
  CHECK(occurrences(p.err(), "eventsource-client: the server closed the stream; reconnecting\n") == 1);
}

TEST_CASE("eventsource-client: a refused connection is retried, reported once, until --timeout (3)") {
  const int port = unused_port();
  Process p(client_args(port, {"token", "-r", "10", "--timeout", "1.2", "-d"}));
  REQUIRE(p.wait_exit() == 3);
  const std::string refused =
      "cannot reach 127.0.0.1:" + std::to_string(port) + ": connection refused (is eventsource-server running?)";
  // -d reports every attempt: there were several.
  wait_until([&] { return occurrences(p.err(), "timed out after") == 1; }, 3s);
  CHECK(occurrences(p.err(), refused) >= 3);
  CHECK(occurrences(p.err(), "debug: connecting to http://127.0.0.1:" + std::to_string(port) + "/poll/token") >= 3);

  Process quiet(client_args(port, {"token", "-r", "10", "--timeout", "1.2"}));
  REQUIRE(quiet.wait_exit() == 3);
  CHECK(quiet.err() == "eventsource-client: " + refused + "; retrying\n" +
                           "eventsource-client: timed out after 1200 ms (0 events received)\n");
}

TEST_CASE("eventsource-client: SIGTERM and SIGINT end the run at once with 128+N") {
  FixtureServer server({answer_and_hold(stream_head() + "data: x\n\n")});
  for (int sig : {SIGTERM, SIGINT}) {
    Process p(client_args(server.port(), {"token", "--data-only"}));
    REQUIRE(p.wait_for_line(std::regex("^x$"), 10s, true));
    const auto t0 = Clock::now();
    p.signal(sig);
    CHECK(p.wait_exit(2s) == 128 + sig);
    CHECK(Clock::now() - t0 < 1s);
  }
}

TEST_CASE("eventsource-client: -a, -x, -u/-p, --header and --last-event-id shape the request") {
  FixtureServer server({answer_and_hold(stream_head() + "data: x\n\n")});
  Process p(client_args(server.port(), {"my token", "-a", "listen", "-x", "/pre/fix/", "-u", "alice", "-p", "s3cret",
                                        "--header", "X-Trace: abc", "--last-event-id", "17", "-n", "1"}));
  REQUIRE(p.wait_exit() == 0);
  auto r = server.requests().at(0);
  CHECK(r.target == "/pre/fix/listen/my%20token");
  CHECK(r.header("authorization") == "Basic YWxpY2U6czNjcmV0");
  CHECK(r.header("x-trace") == "abc");
  CHECK(r.header("last-event-id") == "17");
  CHECK(r.header("accept") == "text/event-stream");
}

TEST_CASE("eventsource-client: --url subscribes to any SSE endpoint") {
  FixtureServer server({answer_and_hold(stream_head() + "data: x\n\n")});
  Process p({client_path(), "--url", server.url("/sse/stream?topic=a+b"), "-n", "1", "--data-only"});
  REQUIRE(p.wait_exit() == 0);
  const std::string expected_out = "x\n";
  CHECK(out_once(p, expected_out) == expected_out);
  CHECK(server.requests().at(0).target == "/sse/stream?topic=a+b");
}

TEST_CASE("eventsource-client: usage errors exit 2") {
  struct Case {
    std::vector<std::string> args;
    std::string err;
  };
  const std::vector<Case> cases{
      {{}, "eventsource-client: give a TOKEN, or --url URL (see --help)\n"},
      {{"t", "--url", "http://x/"}, "eventsource-client: --url replaces TOKEN, -H, -P, -a, -x and -S (see --help)\n"},
      {{"t", "--json", "--data-only"}, "eventsource-client: --json and --data-only exclude each other (see --help)\n"},
      {{"t", "-n", "0"}, "eventsource-client: -n wants a count above 0 (see --help)\n"},
      {{"t", "--header", "oops"}, "eventsource-client: --header wants 'NAME: VALUE', not 'oops' (see --help)\n"},
      {{"--url", "ftp://x/"}, "eventsource-client: unsupported scheme 'ftp' in URL (use http or https)\n"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> argv{client_path()};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    Process p(argv);
    CHECK(p.wait_exit() == 2);
    CHECK(err_once(p, c.err) == c.err);
  }
  Process unknown({client_path(), "t", "--no-such-option"});
  CHECK(unknown.wait_exit() == 2);
}

TEST_CASE("eventsource-client: with eventsource-server, published events arrive and close ends the run") {
  RealServer server({});
  Process client(client_args(server.port, {"tok", "--json"}));
  REQUIRE(wait_until([&] { return server.subscribers() == 1; }));
  REQUIRE(server.request({"tok", "ping", "probe"}) == 0);
  REQUIRE(server.request({"tok", "ping", "line one\nline two"}) == 0);
  REQUIRE(server.request({"tok", "close", ""}) == 0);
  REQUIRE(client.wait_exit() == 0);
  const std::string client_out = "{\"event\":\"ping\",\"data\":\"probe\",\"id\":null,\"retry\":null}\n"
      "{\"event\":\"ping\",\"data\":\"line one\\nline two\",\"id\":null,\"retry\":null}\n"
      "{\"event\":\"close\",\"data\":\"\",\"id\":null,\"retry\":null}\n";
  CHECK(out_once(client, client_out) == client_out);
}

TEST_CASE("eventsource-client: after a dropped connection it resumes from eventsource-server -i with Last-Event-ID") {
  RealServer server({"-i"});
  // A proxy that drops the first stream right after its first event.
  FixtureServer proxy({[&](FixtureConnection& c) {
                         if (c.read_request())
                           c.relay(server.port, [](const std::string& s) { return s.find("data: one\n\n") != std::string::npos; });
                       },
                       [&](FixtureConnection& c) {
                         if (c.read_request()) c.relay(server.port, [](const std::string&) { return false; });
                       }});
  Process client({client_path(), "--url", proxy.url("/poll/tok"), "--data-only", "-r", "300", "-n", "3"});
  REQUIRE(wait_until([&] { return server.subscribers() == 1; }));
  REQUIRE(server.request({"tok", "ping", "one"}) == 0);
  REQUIRE(client.wait_for_line(std::regex("^one$"), 10s, true));
  // The proxy has dropped the stream: "two" is only in the server's history.
  REQUIRE(wait_until([&] { return proxy.ended_at(0).has_value(); }));
  REQUIRE(server.request({"tok", "ping", "two"}) == 0);
  REQUIRE(proxy.wait_for_requests(2));
  REQUIRE(wait_until([&] { return client.out() == "one\ntwo\n"; }));
  REQUIRE(server.request({"tok", "ping", "three"}) == 0);
  REQUIRE(client.wait_exit() == 0);
  const std::string client_out = "one\ntwo\nthree\n";
  CHECK(out_once(client, client_out) == client_out);
  auto requests = proxy.requests();
  CHECK_FALSE(requests[0].has_header("last-event-id"));
  CHECK(requests[1].header("last-event-id") == "1");
}

TEST_CASE("eventsource-client: a second subscriber on eventsource-server --exclusive is refused with 1 and the reason") {
  RealServer server({"--exclusive"});
  Process first(client_args(server.port, {"tok"}));
  REQUIRE(wait_until([&] { return server.subscribers() == 1; }));
  Process second(client_args(server.port, {"tok"}));
  REQUIRE(second.wait_exit() == 1);
  const std::string expected_err =
      "eventsource-client: 127.0.0.1:" + std::to_string(server.port) + " answered 423 Locked: Token is already in use\n";
  CHECK(err_once(second, expected_err) == expected_err);
  CHECK(first.running());
}

TEST_CASE("eventsource-client: a vanished eventsource-server is reported once and retried with growing waits") {
  auto server = std::make_unique<RealServer>(std::vector<std::string>{});
  const int port = server->port;
  Process client(client_args(port, {"tok", "-r", "50"}));
  REQUIRE(wait_until([&] { return server->subscribers() == 1; }));
  server->process->signal(SIGTERM);
  REQUIRE(server->process->wait_exit() == 0);
  const std::string refused = "eventsource-client: cannot reach 127.0.0.1:" + std::to_string(port) +
                              ": connection refused (is eventsource-server running?); retrying\n";
  const std::string expected_err = "eventsource-client: the server closed the stream; reconnecting\n" + refused;
  CHECK(err_once(client, expected_err) == expected_err);
  CHECK(client.running());

  // The same with -d shows each attempt and its wait: the waits grow.
  server = std::make_unique<RealServer>(std::vector<std::string>{});
  Process debug(client_args(server->port, {"tok", "-r", "50", "-d"}));
  REQUIRE(wait_until([&] { return server->subscribers() == 1; }));
  // An event makes the stream a useful one: after it, no backoff.
  REQUIRE(server->request({"tok", "ping", "x"}) == 0);
  REQUIRE(debug.wait_for_line(std::regex("^\\| x$"), 10s, true));
  server->process->signal(SIGTERM);
  REQUIRE(server->process->wait_exit() == 0);
  const std::regex wait_line(R"(debug: reconnecting in (\d+) ms)");
  std::vector<long> waits;
  REQUIRE(wait_until(
      [&] {
        const std::string err = debug.err();
        waits.clear();
        for (std::sregex_iterator it(err.begin(), err.end(), wait_line), end; it != end; ++it)
          waits.push_back(std::stol((*it)[1].str()));
        return waits.size() >= 4;
      },
      10s));
  // After the stream: the plain reconnection time; then each refused attempt doubles it (from the 100 ms floor).
  CHECK(waits[0] == 50);
  CHECK(waits[1] == 200);
  CHECK(waits[2] == 400);
  CHECK(waits[3] == 800);
  debug.signal(SIGINT);
  CHECK(debug.wait_exit() == 130);
}

TEST_CASE("eventsource-client: stopped by --timeout, SIGINT or SIGTERM on an open stream it never says the server closed it") {
  RealServer server({});
  Process timed(client_args(server.port, {"tok", "--timeout", "1"}));
  REQUIRE(timed.wait_exit(10s) == 3);
  CHECK(timed.err() == "eventsource-client: timed out after 1 s (0 events received)\n");

  for (int sig : {SIGINT, SIGTERM}) {
    Process p(client_args(server.port, {"tok"}));
    REQUIRE(wait_until([&] { return server.subscribers() == 1; }));
    p.signal(sig);
    CHECK(p.wait_exit(5s) == 128 + sig);
    CHECK(p.err() == "");
    REQUIRE(wait_until([&] { return server.subscribers() == 0; }));
  }
}
