// SPDX-License-Identifier: GPL-3.0-or-later
// The libes client (es::Client, es::collect, es::publish) against a scripted
// server that sends what real servers rarely do: CR-only line ends, a BOM,
// bytes split anywhere, 204, a wrong type, redirects, a close mid-event.
// The reconnect rules (WHATWG) are checked from the server's side: what
// each request carried and when it came.
#include <doctest/doctest.h>

#include "harness.hpp"
#include "sse_fixture.hpp"

#include <es/client.hpp>
#include <es/collect.hpp>
#include <es/publish.hpp>

#include <atomic>
#include <mutex>
#include <stdexcept>

using namespace es::test;
using std::chrono::milliseconds;

namespace {

/// Everything the handlers saw, safe to read from the test thread.
struct Recorder {
  mutable std::mutex mu;
  std::vector<es::Event> events;
  std::vector<es::ClientError> errors;
  std::vector<es::OpenInfo> opens;
  int closes = 0;

  es::Client::Handlers handlers() {
    return {
        .on_event = [this](const es::Event& e) { std::lock_guard l(mu); events.push_back(e); },
        .on_open = [this](const es::OpenInfo& o) { std::lock_guard l(mu); opens.push_back(o); },
        .on_error = [this](const es::ClientError& e) { std::lock_guard l(mu); errors.push_back(e); },
        .on_close = [this] { std::lock_guard l(mu); ++closes; },
    };
  }
  std::size_t event_count() const { std::lock_guard l(mu); return events.size(); }
  std::size_t error_count() const { std::lock_guard l(mu); return errors.size(); }
  std::vector<es::Event> events_copy() const { std::lock_guard l(mu); return events; }
  std::vector<es::ClientError> errors_copy() const { std::lock_guard l(mu); return errors; }
};

es::ClientOptions options_for(const std::string& url, milliseconds initial = 50ms) {
  es::ClientOptions o;
  o.url = url;
  o.reconnect.initial = initial;
  o.reconnect.backoff = 1.0;
  return o;
}

es::Event event(std::string name, std::string data, std::string id = "") {
  es::Event e;
  e.name = std::move(name);
  e.data = std::move(data);
  e.id = std::move(id);
  return e;
}

milliseconds since(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration_cast<milliseconds>(b - a);
}

}  // namespace

TEST_CASE("client: CR-only line ends delimit lines and events") {
  FixtureServer server({answer_and_hold(stream_head() + "data: a\rdata: b\r\rid: 1\revent: x\rdata: c\r\r")});
  auto got = es::collect(server.url(), 2, 10s);
  REQUIRE(got.events.size() == 2);
  CHECK(got.events[0] == event("", "a\nb"));
  CHECK(got.events[1] == event("x", "c", "1"));
  CHECK_FALSE(got.timed_out);
  CHECK_FALSE(got.error);
}

TEST_CASE("client: a leading byte order mark is skipped") {
  FixtureServer server({answer_and_hold(stream_head() + "\xEF\xBB\xBF" "data: first\n\n")});
  auto got = es::collect(server.url(), 1, 10s);
  REQUIRE(got.events.size() == 1);
  CHECK(got.events[0] == event("", "first"));
}

TEST_CASE("client: a stream split into one-byte reads parses the same, CRLF split included") {
  const std::string body = "\xEF\xBB\xBF: comment\r\nid: 7\r\nevent: tick\r\ndata: one\r\ndata:  two\r\n\r\ndata: last\r\n\r\n";
  FixtureServer server({[body](FixtureConnection& c) {
    if (!c.read_request()) return;
    c.send(stream_head());
    c.send_split(body, 1);
    c.hold();
  }});
  auto got = es::collect(server.url(), 2, 20s);
  REQUIRE(got.events.size() == 2);
  CHECK(got.events[0] == event("tick", "one\n two", "7"));
  CHECK(got.events[1] == event("", "last", "7"));
}

TEST_CASE("client: a chunked stream (as nchan or a Python server send it) is read across chunk boundaries") {
  // Chunks of 5, 7 and 10 bytes: the boundaries fall inside lines.
  FixtureServer server({answer_and_hold(stream_head("Transfer-Encoding: chunked\r\n") +
                                        "5\r\ndata:\r\n7\r\n one\n\nd\r\na\r\nata: two\n\n\r\n")});
  auto got = es::collect(server.url(), 2, 10s);
  REQUIRE(got.events.size() == 2);
  CHECK(got.events[0].data == "one");
  CHECK(got.events[1].data == "two");
}

TEST_CASE("client: 204 No Content stops reconnection") {
  FixtureServer server({answer_and_close("HTTP/1.1 204 No Content\r\n\r\n")});
  Recorder rec;
  es::Client client(options_for(server.url()), rec.handlers());
  auto result = client.run();
  REQUIRE(result);
  CHECK(result->kind == es::FailureKind::no_content);
  CHECK(result->status == 204);
  CHECK_FALSE(result->will_retry);
  CHECK(result->message ==
        "127.0.0.1:" + std::to_string(server.port()) +
            " answered 204 No Content: the server asks the client not to reconnect");
  CHECK(server.requests().size() == 1);
  CHECK(rec.error_count() == 1);
}

TEST_CASE("client: a Content-Type other than text/event-stream stops reconnection") {
  FixtureServer server({answer_and_close("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 6\r\n\r\n<html>")});
  es::Client client(options_for(server.url()), {});
  auto result = client.run();
  REQUIRE(result);
  CHECK(result->kind == es::FailureKind::content_type);
  CHECK(result->message == "127.0.0.1:" + std::to_string(server.port()) +
                               " answered with Content-Type text/html, not text/event-stream");
  CHECK(server.requests().size() == 1);
}

TEST_CASE("client: text/event-stream with parameters and in another case is accepted") {
  FixtureServer server({answer_and_hold(
      "HTTP/1.1 200 OK\r\nContent-Type: Text/Event-Stream; charset=utf-8\r\n\r\ndata: ok\n\n")});
  auto got = es::collect(server.url(), 1, 10s);
  REQUIRE(got.events.size() == 1);
  CHECK(got.events[0].data == "ok");
}

TEST_CASE("client: another status stops reconnection and carries the server's reason") {
  FixtureServer server({answer_and_close(
      "HTTP/1.1 423 Locked\r\nContent-Type: text/plain\r\nContent-Length: 24\r\n\r\nToken is already in use\n")});
  es::Client client(options_for(server.url()), {});
  auto result = client.run();
  REQUIRE(result);
  CHECK(result->kind == es::FailureKind::http_status);
  CHECK(result->status == 423);
  CHECK(result->reason == "Token is already in use");
  CHECK(result->message == "127.0.0.1:" + std::to_string(server.port()) + " answered 423 Locked: Token is already in use");
  CHECK(server.requests().size() == 1);
}

TEST_CASE("client: keep_going reconnects after a fatal answer") {
  FixtureServer server({answer_and_close("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"),
                        answer_and_hold(stream_head() + "data: back\n\n")});
  auto options = options_for(server.url());
  options.keep_going = true;
  Recorder rec;
  es::Client client(options, rec.handlers());
  client.start();
  REQUIRE(wait_until([&] { return rec.event_count() == 1; }));
  client.stop();
  CHECK_FALSE(client.wait());
  auto errors = rec.errors_copy();
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].kind == es::FailureKind::http_status);
  CHECK(errors[0].will_retry);
  CHECK(rec.events_copy()[0].data == "back");
}

TEST_CASE("client: redirects are followed") {
  FixtureServer server({answer_and_close("HTTP/1.1 307 Temporary Redirect\r\nLocation: /elsewhere/t\r\nContent-Length: 0\r\n\r\n"),
                        answer_and_hold(stream_head() + "data: moved\n\n")});
  auto got = es::collect(server.url("/poll/t"), 1, 10s);
  REQUIRE(got.events.size() == 1);
  CHECK(got.events[0].data == "moved");
  auto requests = server.requests();
  REQUIRE(requests.size() == 2);
  CHECK(requests[0].target == "/poll/t");
  CHECK(requests[1].target == "/elsewhere/t");
  CHECK(requests[1].header("accept") == "text/event-stream");
}

TEST_CASE("client: a relative Location is resolved, basic auth is not sent to another origin") {
  FixtureServer other({answer_and_hold(stream_head() + "data: far\n\n")});
  const std::string far = "http://localhost:" + std::to_string(other.port()) + "/far";
  FixtureServer server({answer_and_close("HTTP/1.1 302 Found\r\nLocation: next\r\nContent-Length: 0\r\n\r\n"),
                        answer_and_close("HTTP/1.1 301 Moved\r\nLocation: " + far + "\r\nContent-Length: 0\r\n\r\n")});
  auto options = options_for(server.url("/dir/start"));
  options.username = "alice";
  options.password = "pw";
  auto got = es::collect(options, 1, 10s);
  REQUIRE(got.events.size() == 1);
  CHECK(got.events[0].data == "far");
  auto requests = server.requests();
  REQUIRE(requests.size() == 2);
  CHECK(requests[1].target == "/dir/next");
  CHECK(requests[1].header("authorization") == "Basic YWxpY2U6cHc=");
  CHECK(other.requests().at(0).target == "/far");
  CHECK_FALSE(other.requests().at(0).has_header("authorization"));
}

TEST_CASE("client: a redirect loop stops reconnection") {
  FixtureServer server({answer_and_close("HTTP/1.1 307 Temporary Redirect\r\nLocation: /poll/token\r\nContent-Length: 0\r\n\r\n")});
  es::Client client(options_for(server.url()), {});
  auto result = client.run();
  REQUIRE(result);
  CHECK(result->kind == es::FailureKind::redirects);
  CHECK(result->message == "too many redirects (over 20) from 127.0.0.1:" + std::to_string(server.port()));
  CHECK(server.requests().size() == 21);
}

TEST_CASE("client: an event cut off by the server's close is dropped, the reconnect sends Last-Event-ID") {
  FixtureServer server({answer_and_close(stream_head() + "id: 1\ndata: one\n\nid: 2\ndata: tw"),
                        answer_and_hold(stream_head() + "data: three\n\n")});
  Recorder rec;
  es::Client client(options_for(server.url()), rec.handlers());
  client.start();
  REQUIRE(wait_until([&] { return rec.event_count() == 2; }));
  client.stop();
  CHECK_FALSE(client.wait());
  auto events = rec.events_copy();
  CHECK(events[0] == event("", "one", "1"));
  // WHATWG: the last event id persists across events and connections.
  CHECK(events[1] == event("", "three", "1"));
  auto requests = server.requests();
  REQUIRE(requests.size() == 2);
  CHECK_FALSE(requests[0].has_header("last-event-id"));
  CHECK(requests[1].header("last-event-id") == "1");
  // A server's close is not an error: the stream just ends and reopens.
  CHECK(rec.error_count() == 0);
  std::lock_guard l(rec.mu);
  CHECK(rec.closes >= 1);
  REQUIRE(rec.opens.size() == 2);
  CHECK(rec.opens[1].last_event_id == "1");
  CHECK(rec.opens[1].reconnects == 1);
}

TEST_CASE("client: an id-only message moves Last-Event-ID, an empty id clears it") {
  FixtureServer server({answer_and_close(stream_head() + "id: 5\ndata: x\n\nid: 9\n\n"),
                        answer_and_close(stream_head() + "id\ndata: y\n\n"),
                        answer_and_hold(stream_head())});
  Recorder rec;
  es::Client client(options_for(server.url()), rec.handlers());
  client.start();
  REQUIRE(server.wait_for_requests(3));
  client.stop();
  client.wait();
  auto requests = server.requests();
  CHECK(requests[1].header("last-event-id") == "9");
  CHECK_FALSE(requests[2].has_header("last-event-id"));
}

TEST_CASE("client: ClientOptions::last_event_id is sent on the first connection") {
  FixtureServer server({answer_and_hold(stream_head() + "data: resumed\n\n")});
  auto options = options_for(server.url());
  options.last_event_id = "41";
  Recorder rec;
  es::Client client(options, rec.handlers());
  client.start();
  REQUIRE(wait_until([&] { return rec.event_count() == 1; }));
  CHECK(client.last_event_id() == "41");
  client.stop();
  client.wait();
  CHECK(server.requests().at(0).header("last-event-id") == "41");
  CHECK(rec.events_copy()[0] == event("", "resumed", "41"));
}

TEST_CASE("client: the server's retry: sets the reconnection delay and is reported with the next event") {
  FixtureServer server({answer_and_close(stream_head() + "retry: 400\ndata: a\n\n"),
                        answer_and_hold(stream_head() + "data: b\n\n")});
  // Without the server's retry the client would wait 20 s.
  Recorder rec;
  es::Client client(options_for(server.url(), 20s), rec.handlers());
  client.start();
  REQUIRE(wait_until([&] { return rec.event_count() == 2; }, 10s));
  client.stop();
  client.wait();
  auto gap = since(*server.ended_at(0), server.requests().at(1).at);
  CHECK(gap >= 400ms);
  CHECK(gap < 5s);
  auto events = rec.events_copy();
  CHECK(events[0].retry == milliseconds(400));
  CHECK_FALSE(events[1].retry);
}

TEST_CASE("client: without retry: the policy's reconnection time is waited") {
  FixtureServer server({answer_and_close(stream_head() + "data: a\n\n"), answer_and_hold(stream_head())});
  es::Client client(options_for(server.url(), 300ms), {});
  client.start();
  REQUIRE(server.wait_for_requests(2));
  client.stop();
  client.wait();
  CHECK(since(*server.ended_at(0), server.requests().at(1).at) >= 300ms);
}

TEST_CASE("client: a refused connection is retried with backoff and described") {
  const int port = unused_port();
  auto options = options_for("http://127.0.0.1:" + std::to_string(port) + "/poll/t", 40ms);
  options.reconnect.backoff = 2.0;
  options.reconnect.failure_floor = 10ms;
  Recorder rec;
  es::Client client(options, rec.handlers());
  client.start();
  REQUIRE(wait_until([&] { return rec.error_count() >= 3; }));
  client.stop();
  CHECK_FALSE(client.wait());
  auto errors = rec.errors_copy();
  for (const auto& e : errors) {
    CHECK(e.kind == es::FailureKind::refused);
    CHECK(e.message == "cannot reach 127.0.0.1:" + std::to_string(port) + ": connection refused");
    CHECK(e.will_retry);
  }
  CHECK(errors[0].retry_in == 80ms);
  CHECK(errors[1].retry_in == 160ms);
  CHECK(errors[2].retry_in == 320ms);
}

TEST_CASE("client: a server that answers 200 and drops at once is not hammered") {
  FixtureServer server({answer_and_close(stream_head() + "retry: 0\n\n")});
  es::Client client(options_for(server.url(), 0ms), {});
  client.start();
  REQUIRE(server.wait_for_requests(4));
  client.stop();
  client.wait();
  auto requests = server.requests();
  // retry: 0, but each useless stream counts as a failure: the policy's failure floor (100 ms) and backoff apply.
  for (std::size_t i = 1; i < 4; ++i) CHECK(since(*server.ended_at(i - 1), requests[i].at) >= 100ms);
}

TEST_CASE("client: stop() during the reconnection wait returns at once") {
  FixtureServer server({answer_and_close(stream_head() + "data: a\n\n")});
  Recorder rec;
  es::Client client(options_for(server.url(), 60s), rec.handlers());
  client.start();
  REQUIRE(wait_until([&] { std::lock_guard l(rec.mu); return rec.closes == 1; }));
  const auto t0 = Clock::now();
  client.stop();
  CHECK(client.wait_for(2s));
  CHECK(since(t0, Clock::now()) < 1s);
  CHECK(server.requests().size() == 1);
}

TEST_CASE("client: stop() while reading a silent stream returns at once") {
  FixtureServer server({answer_and_hold(stream_head())});
  Recorder rec;
  es::Client client(options_for(server.url()), rec.handlers());
  client.start();
  REQUIRE(wait_until([&] { std::lock_guard l(rec.mu); return rec.opens.size() == 1; }));
  const auto t0 = Clock::now();
  client.stop();
  CHECK(client.wait_for(2s));
  CHECK(since(t0, Clock::now()) < 1s);
  CHECK_FALSE(client.wait());
  CHECK(rec.error_count() == 0);
}

TEST_CASE("client: stop() while waiting for a server that never answers returns at once") {
  FixtureServer server({[](FixtureConnection& c) {
    c.read_request();
    c.hold();
  }});
  es::Client client(options_for(server.url()), {});
  client.start();
  REQUIRE(server.wait_for_requests(1));
  const auto t0 = Clock::now();
  client.stop();
  CHECK(client.wait_for(2s));
  CHECK(since(t0, Clock::now()) < 1s);
}

TEST_CASE("client: stop() from an event handler ends the run") {
  FixtureServer server({answer_and_hold(stream_head() + "data: 1\n\ndata: 2\n\ndata: 3\n\n")});
  std::vector<std::string> seen;
  es::Client* self = nullptr;
  es::Client client(options_for(server.url()), {.on_event = [&](const es::Event& e) {
                      seen.push_back(e.data);
                      if (seen.size() == 2) self->stop();
                    }});
  self = &client;
  CHECK_FALSE(client.run());
  CHECK(seen == std::vector<std::string>{"1", "2"});
}

TEST_CASE("client: an exception from a handler ends the run and comes out of run()") {
  FixtureServer server({answer_and_hold(stream_head() + "data: boom\n\n")});
  es::Client client(options_for(server.url()),
                    {.on_event = [](const es::Event&) { throw std::runtime_error("handler failed"); }});
  CHECK_THROWS_WITH_AS(client.run(), "handler failed", std::runtime_error);
}

TEST_CASE("client: headers, basic auth and the SSE request headers are sent") {
  FixtureServer server({answer_and_hold(stream_head() + "data: x\n\n")});
  auto options = options_for(server.url());
  options.username = "alice";
  options.password = "s3cret";
  options.headers = {{"X-Trace", "abc"}, {"Accept", "text/html"}};
  auto got = es::collect(options, 1, 10s);
  REQUIRE(got.events.size() == 1);
  auto r = server.requests().at(0);
  CHECK(r.method == "GET");
  CHECK(r.target == "/poll/token");
  CHECK(r.header("authorization") == "Basic YWxpY2U6czNjcmV0");
  CHECK(r.header("x-trace") == "abc");
  CHECK(r.header("accept") == "text/event-stream");  // an extra header cannot replace it
  CHECK(r.header("cache-control") == "no-cache");
  CHECK(r.header("accept-encoding") == "identity");
}

TEST_CASE("client: credentials in the URL are used for basic auth") {
  FixtureServer server({answer_and_hold(stream_head() + "data: x\n\n")});
  auto got = es::collect("http://bob:pa%3Ass@127.0.0.1:" + std::to_string(server.port()) + "/poll/t", 1, 10s);
  REQUIRE(got.events.size() == 1);
  CHECK(server.requests().at(0).header("authorization") == "Basic Ym9iOnBhOnNz");
}

TEST_CASE("client: a line over the parser's limit drops the connection, which is reopened") {
  FixtureServer server({answer_and_hold(stream_head() + "data: " + std::string(200, 'x') + "\n\n"),
                        answer_and_hold(stream_head() + "data: short\n\n")});
  auto options = options_for(server.url());
  options.limits.max_line = 64;
  Recorder rec;
  es::Client client(options, rec.handlers());
  client.start();
  REQUIRE(wait_until([&] { return rec.event_count() == 1; }));
  client.stop();
  client.wait();
  CHECK(rec.events_copy()[0].data == "short");
  auto errors = rec.errors_copy();
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].kind == es::FailureKind::too_large);
  CHECK(errors[0].message == "the stream from 127.0.0.1:" + std::to_string(server.port()) +
                                 " sent a line too long (over 64 bytes); dropped the connection");
}

TEST_CASE("client: idle_timeout drops a silent stream and reconnects") {
  FixtureServer server({answer_and_hold(stream_head() + ": hello\n\n"), answer_and_hold(stream_head() + "data: y\n\n")});
  auto options = options_for(server.url());
  options.idle_timeout = 300ms;
  Recorder rec;
  es::Client client(options, rec.handlers());
  client.start();
  REQUIRE(wait_until([&] { return rec.event_count() == 1; }));
  client.stop();
  client.wait();
  auto errors = rec.errors_copy();
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].kind == es::FailureKind::lost);
  CHECK(errors[0].message == "the stream from 127.0.0.1:" + std::to_string(server.port()) +
                                 " was silent for 300 ms; dropped it");
}

TEST_CASE("client: an https URL against a plain server fails the TLS handshake and is retried") {
  // Answers whatever comes (a TLS ClientHello) with plain HTTP, and closes.
  FixtureServer server({[](FixtureConnection& c) { c.send("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"); }});
  Recorder rec;
  es::Client client(options_for("https://127.0.0.1:" + std::to_string(server.port()) + "/poll/t"), rec.handlers());
  client.start();
  REQUIRE(wait_until([&] { return rec.error_count() >= 2; }));
  client.stop();
  client.wait();
  auto e = rec.errors_copy()[0];
  CHECK(e.kind == es::FailureKind::tls);
  CHECK(e.will_retry);
  CHECK(e.message == "cannot reach 127.0.0.1:" + std::to_string(server.port()) +
                         ": TLS handshake failed (is it an https server?)");
}

TEST_CASE("client: a host name that does not resolve is a name_lookup failure") {
  Recorder rec;
  es::Client client(options_for("http://no-such-host.invalid:8888/poll/t"), rec.handlers());
  client.start();
  REQUIRE(wait_until([&] { return rec.error_count() >= 1; }, 30s));
  client.stop();
  client.wait();
  auto e = rec.errors_copy()[0];
  CHECK(e.kind == es::FailureKind::name_lookup);
  CHECK(e.message.rfind("cannot reach no-such-host.invalid:8888: cannot resolve the host name (", 0) == 0);
}

TEST_CASE("client: a bad URL or Last-Event-ID is refused at construction") {
  CHECK_THROWS_WITH_AS(es::Client(options_for("ftp://x/y"), {}),
                       "es::Client: unsupported scheme 'ftp' in URL (use http or https)", std::invalid_argument);
  auto options = options_for("http://127.0.0.1:1/");
  options.last_event_id = "a\nb";
  CHECK_THROWS_AS(es::Client(options, {}), std::invalid_argument);
}

TEST_CASE("client: run() twice is a usage error") {
  FixtureServer server({answer_and_close("HTTP/1.1 204 No Content\r\n\r\n")});
  es::Client client(options_for(server.url()), {});
  (void)client.run();
  CHECK_THROWS_AS(client.run(), std::logic_error);
}

TEST_CASE("collect: returns the events so far when the deadline comes first") {
  FixtureServer server({answer_and_hold(stream_head() + "data: only\n\n")});
  const auto t0 = Clock::now();
  auto got = es::collect(server.url(), 3, 500ms);
  CHECK(since(t0, Clock::now()) >= 500ms);
  CHECK(got.timed_out);
  REQUIRE(got.events.size() == 1);
  CHECK(got.events[0].data == "only");
}

TEST_CASE("collect: reports the error that stopped it") {
  FixtureServer server({answer_and_close("HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\nNo stream\n")});
  auto got = es::collect(server.url(), 1, 10s);
  CHECK_FALSE(got.timed_out);
  CHECK(got.events.empty());
  REQUIRE(got.error);
  CHECK(got.error->status == 404);
  CHECK(got.error->reason == "No stream");
}

TEST_CASE("publish: POSTs the data to BASE/ACTION/TOKEN and returns the answer") {
  FixtureServer server({answer_and_close(
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 27\r\n\r\n{\"id\":\"7\",\"subscribers\":3}\n")});
  es::PublishOptions options;
  options.base_url = "http://127.0.0.1:" + std::to_string(server.port()) + "/events/";
  options.content_type = "application/json";
  auto outcome = es::publish(options, "a/b c", "ping", "{\"x\":1}");
  REQUIRE(outcome);
  CHECK(outcome.reply->ok());
  CHECK(outcome.reply->status == 200);
  CHECK(outcome.reply->body == "{\"id\":\"7\",\"subscribers\":3}\n");
  auto r = server.requests().at(0);
  CHECK(r.method == "POST");
  CHECK(r.target == "/events/ping/a%2Fb%20c");
  CHECK(r.header("content-type") == "application/json");
  CHECK(r.body == "{\"x\":1}");
}

TEST_CASE("publish: an HTTP error is an answer, not a failure") {
  FixtureServer server({answer_and_close(
      "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 25\r\n\r\nUnknown action requested\n")});
  es::PublishOptions options;
  options.base_url = server.url("");
  auto outcome = es::publish(options, "t", "nope", "x");
  REQUIRE(outcome);
  CHECK_FALSE(outcome.reply->ok());
  CHECK(outcome.reply->status == 404);
  CHECK(outcome.reply->reason == "Not Found");
}

TEST_CASE("publish: a refused connection is described") {
  const int port = unused_port();
  es::PublishOptions options;
  options.base_url = "http://127.0.0.1:" + std::to_string(port);
  auto outcome = es::publish(options, "t", "ping", "x");
  REQUIRE_FALSE(outcome);
  REQUIRE(outcome.error);
  CHECK(outcome.error->kind == es::FailureKind::refused);
  CHECK(outcome.error->message == "cannot reach 127.0.0.1:" + std::to_string(port) + ": connection refused");
}

TEST_CASE("publish: a server that does not answer in time is a timeout") {
  FixtureServer server({[](FixtureConnection& c) {
    c.read_request();
    c.hold();
  }});
  es::PublishOptions options;
  options.base_url = server.url("");
  options.timeout = 300ms;
  auto outcome = es::publish(options, "t", "ping", "x");
  REQUIRE(outcome.error);
  CHECK(outcome.error->kind == es::FailureKind::timed_out);
  CHECK(outcome.error->message == "127.0.0.1:" + std::to_string(server.port()) + " did not answer within 300 ms");
}
