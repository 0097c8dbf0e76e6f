// SPDX-License-Identifier: GPL-3.0-or-later
#include "sse/recording_parser.hpp"

#include <es/parser.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

using namespace std::string_literals;
using std::chrono::milliseconds;
using es::test::Parsed;
using es::test::RecordingParser;

namespace {

// For tests that drive an es::Parser of their own.
es::Parser::Handlers recording_into(Parsed& out) {
  return {
      [&out](const es::Event& e) { out.events.push_back(e); },
      [&out](milliseconds retry) { out.retries.push_back(retry); },
      [&out](std::string_view comment) { out.comments.emplace_back(comment); },
  };
}

Parsed parse_pieces(const std::vector<std::string_view>& pieces, es::ParserLimits limits) {
  RecordingParser parser(limits);
  for (std::string_view piece : pieces) {
    const es::ParseError before = parser.result().error;
    const es::ParseError error = parser.feed(piece);
    // Once failed, feed() keeps returning the same error.
    if (before != es::ParseError::none) CHECK(error == before);
  }
  Parsed out = parser.result();
  CHECK(parser.parser().error() == out.error);
  return out;
}

// Parses `input` whole, then split in two at every position, then byte by
// byte, checks every run reports the same, and returns what the whole run did.
Parsed parse_every_split(std::string_view input, es::ParserLimits limits = {}) {
  const Parsed whole = parse_pieces({input}, limits);
  for (std::size_t at = 0; at <= input.size(); ++at) {
    INFO("split at byte ", at);
    CHECK(parse_pieces({input.substr(0, at), input.substr(at)}, limits) == whole);
  }
  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < input.size(); ++i) bytes.push_back(input.substr(i, 1));
  INFO("byte by byte");
  CHECK(parse_pieces(bytes, limits) == whole);
  return whole;
}

es::Event message(std::string data, std::string id = {}) { return {{}, std::move(data), std::move(id), {}}; }
es::Event named(std::string name, std::string data, std::string id = {}) {
  return {std::move(name), std::move(data), std::move(id), {}};
}

using Events = std::vector<es::Event>;

}  // namespace

TEST_CASE("parser: a blank line dispatches the data as a message event") {
  const Parsed p = parse_every_split("data: hello\n\n");
  CHECK(p.events == Events{message("hello")});
  CHECK(p.events.at(0).type() == "message");
  CHECK(p.error == es::ParseError::none);
}

TEST_CASE("parser: an event is dispatched only when its blank line arrives") {
  Parsed out;
  es::Parser parser(recording_into(out));
  CHECK(parser.feed("data: a\n") == es::ParseError::none);
  CHECK(out.events.empty());
  CHECK(parser.feed("\n") == es::ParseError::none);
  CHECK(out.events == Events{message("a")});
}

TEST_CASE("parser: LF, CRLF and a lone CR each end a line") {
  CHECK(parse_every_split("data: a\n\n").events == Events{message("a")});
  CHECK(parse_every_split("data: a\r\n\r\n").events == Events{message("a")});
  CHECK(parse_every_split("data: a\r\r").events == Events{message("a")});
  CHECK(parse_every_split("data: a\r\ndata: b\rdata: c\n\r\ndata: d\r\r\n").events ==
        Events{message("a\nb\nc"), message("d")});
}

TEST_CASE("parser: CR LF is one line end, LF CR is two") {
  // "\r\n" after data ends the line once, so no blank line follows.
  CHECK(parse_every_split("data: a\r\ndata: b\r\n\r\n").events == Events{message("a\nb")});
  // "\n\r" is a line end and then a blank line.
  CHECK(parse_every_split("data: a\n\rdata: b\n\n").events == Events{message("a"), message("b")});
}

TEST_CASE("parser: a CR ending one feed and an LF starting the next are one line end") {
  Parsed out;
  es::Parser parser(recording_into(out));
  CHECK(parser.feed("data: a\r") == es::ParseError::none);
  CHECK(out.events.empty());
  // Were this LF a second line end, it would be a blank line and dispatch "a" alone.
  CHECK(parser.feed("\ndata: b\r") == es::ParseError::none);
  CHECK(parser.feed("") == es::ParseError::none);  // an empty feed does not forget the CR
  CHECK(parser.feed("\n\r") == es::ParseError::none);
  CHECK(out.events == Events{message("a\nb")});
  CHECK(parser.feed("\n") == es::ParseError::none);  // completes the CR of the blank line: no second dispatch
  CHECK(parser.feed("data: c\n\n") == es::ParseError::none);
  CHECK(out.events == Events{message("a\nb"), message("c")});
}

TEST_CASE("parser: a UTF-8 BOM at the start of the stream is skipped") {
  CHECK(parse_every_split("\xEF\xBB\xBF" "data: a\n\n").events == Events{message("a")});
  CHECK(parse_every_split("\xEF\xBB\xBF\n" "data: a\n\n").events == Events{message("a")});
}

TEST_CASE("parser: only one BOM is skipped, and only at the start") {
  // The second BOM becomes part of the field name, which is then unknown.
  CHECK(parse_every_split("\xEF\xBB\xBF\xEF\xBB\xBF" "data: a\n\n").events.empty());
  CHECK(parse_every_split("data: a\n\n\xEF\xBB\xBF" "data: b\n\n").events == Events{message("a")});
  CHECK(parse_every_split("data: \xEF\xBB\xBF" "b\n\n").events == Events{message("\xEF\xBB\xBF" "b")});
}

TEST_CASE("parser: the start of a broken BOM is kept as data") {
  // Held while they could be a BOM, these bytes start the first line's name.
  CHECK(parse_every_split("\xEF" "data: a\n\n").events.empty());
  CHECK(parse_every_split("\xEF\xBB" "data: a\n\n").events.empty());
  CHECK(parse_every_split("\xEF\xBB\n" "data: a\n\n").events == Events{message("a")});
  CHECK(parse_every_split("\xEF\xBB:c\n").comments.empty());
  // The held bytes count towards the line limit like any other.
  CHECK(parse_every_split("\xEF\xBB" "data\n", {.max_line = 5}).error == es::ParseError::line_too_long);
  CHECK(parse_every_split("\xEF\xBB\xBF" "data\n", {.max_line = 4}).error == es::ParseError::none);
}

TEST_CASE("parser: a line starting with a colon is a comment") {
  const Parsed p = parse_every_split(": keepalive 1\n:\n::x\ndata: a\n: inside\ndata: b\n\n");
  CHECK(p.comments == std::vector<std::string>{" keepalive 1", "", ":x", " inside"});
  CHECK(p.events == Events{message("a\nb")});
}

TEST_CASE("parser: a comment alone dispatches nothing") {
  const Parsed p = parse_every_split(": hello\n\n");
  CHECK(p.events.empty());
  CHECK(p.comments == std::vector<std::string>{" hello"});
}

TEST_CASE("parser: exactly one space after the colon is stripped") {
  CHECK(parse_every_split("data:x\n\n").events == Events{message("x")});
  CHECK(parse_every_split("data: x\n\n").events == Events{message("x")});
  CHECK(parse_every_split("data:  x\n\n").events == Events{message(" x")});
  CHECK(parse_every_split("data:\tx\n\n").events == Events{message("\tx")});
  CHECK(parse_every_split("data: x \n\n").events == Events{message("x ")});
  CHECK(parse_every_split("event:  x\ndata\n\n").events == Events{named(" x", "")});
}

TEST_CASE("parser: only the first colon separates field from value") {
  CHECK(parse_every_split("data: a: b\n\n").events == Events{message("a: b")});
  CHECK(parse_every_split("data::x\n\n").events == Events{message(":x")});
}

TEST_CASE("parser: a line without a colon is a field with an empty value") {
  CHECK(parse_every_split("data\n\n").events == Events{message("")});
  CHECK(parse_every_split("data\ndata\n\n").events == Events{message("\n")});
  CHECK(parse_every_split("event: x\nevent\ndata: a\n\n").events == Events{message("a")});
  CHECK(parse_every_split("id: 1\nid\ndata: a\n\n").events == Events{message("a", "")});
}

TEST_CASE("parser: a field name is matched exactly") {
  CHECK(parse_every_split("data : a\nDATA: b\nData: c\n data: d\ndata: e\n\n").events == Events{message("e")});
}

TEST_CASE("parser: data lines are joined with LF and one trailing LF is removed") {
  CHECK(parse_every_split("data: a\ndata:\ndata: b\n\n").events == Events{message("a\n\nb")});
  CHECK(parse_every_split("data: a\ndata:\n\n").events == Events{message("a\n")});
  CHECK(parse_every_split("data:\ndata: a\n\n").events == Events{message("\na")});
}

TEST_CASE("parser: an empty data line dispatches an event with empty data") {
  CHECK(parse_every_split("event: ping\ndata: \n\n").events == Events{named("ping", "")});
}

TEST_CASE("parser: the event field names the next dispatched event only") {
  const Parsed p = parse_every_split("event: ping\ndata: x\n\ndata: y\n\nevent: a\nevent: b\ndata: z\n\n");
  CHECK(p.events == Events{named("ping", "x"), message("y"), named("b", "z")});
}

TEST_CASE("parser: an empty data buffer dispatches nothing and resets the type") {
  const Parsed p = parse_every_split("event: lost\n\ndata: x\n\n\n\n\n");
  CHECK(p.events == Events{message("x")});
}

TEST_CASE("parser: the last event id persists across events") {
  const Parsed p = parse_every_split("id: 1\ndata: a\n\ndata: b\n\nid: 2\ndata: c\n\n");
  CHECK(p.events == Events{message("a", "1"), message("b", "1"), message("c", "2")});
  CHECK(p.last_event_id == "2");
}

TEST_CASE("parser: an empty id field clears the last event id") {
  const Parsed p = parse_every_split("id: 1\ndata: a\n\nid:\ndata: b\n\nid: 2\n\nid\ndata: c\n\n");
  CHECK(p.events == Events{message("a", "1"), message("b", ""), message("c", "")});
  CHECK(p.last_event_id.empty());
}

TEST_CASE("parser: an empty view with no bytes behind it (null data) is an empty piece") {
  // Regression (issue 15): find_byte() passed the view's null data() to
  // memchr(), undefined behaviour that UBSan reports (nonnull-attribute).
  RecordingParser parser;
  CHECK(parser.feed(std::string_view{}) == es::ParseError::none);  // at the stream's start
  CHECK(parser.feed("data: a\n") == es::ParseError::none);
  CHECK(parser.feed(std::string_view{}) == es::ParseError::none);  // inside the stream
  CHECK(parser.feed("id\ndata\n\r") == es::ParseError::none);     // fields without a value
  CHECK(parser.feed(std::string_view{}) == es::ParseError::none);  // after a CR
  CHECK(parser.feed("\n") == es::ParseError::none);
  const Parsed p = parser.result();
  CHECK(p.events == Events{message("a\n")});
  CHECK(p.last_event_id.empty());
}

TEST_CASE("parser: an id containing NUL is ignored") {
  const Parsed p = parse_every_split("id: 1\ndata: a\n\nid: 2\0x\ndata: b\n\nid: \0\ndata: c\n\n"s);
  CHECK(p.events == Events{message("a", "1"), message("b", "1"), message("c", "1")});
}

TEST_CASE("parser: an id-only message moves the last event id without dispatching") {
  const Parsed p = parse_every_split("id: 7\n\n");
  CHECK(p.events.empty());
  CHECK(p.last_event_id == "7");
}

TEST_CASE("parser: the last event id moves only when the blank line arrives") {
  Parsed out;
  es::Parser parser(recording_into(out));
  CHECK(parser.feed("id: 1\ndata: a\n") == es::ParseError::none);
  CHECK(parser.last_event_id().empty());
  CHECK(parser.feed("\n") == es::ParseError::none);
  CHECK(parser.last_event_id() == "1");
}

TEST_CASE("parser: a retry of ASCII digits is reported") {
  const Parsed p = parse_every_split("retry: 1500\nretry:0\nretry: 007\n");
  CHECK(p.retries == std::vector<milliseconds>{milliseconds{1500}, milliseconds{0}, milliseconds{7}});
  CHECK(p.events.empty());
}

TEST_CASE("parser: a retry that is not all ASCII digits is ignored") {
  for (const char* input : {"retry: 15x\n", "retry: -5\n", "retry: +5\n", "retry:\n", "retry\n", "retry:  15\n",
                            "retry: 1.5\n", "retry: 15 \n", "retry: \xD9\xA1\n"}) {
    INFO(input);
    CHECK(parse_every_split(input).retries.empty());
  }
}

TEST_CASE("parser: a retry too large to hold is the largest delay") {
  const Parsed p = parse_every_split("retry: 99999999999999999999999999\n");
  CHECK(p.retries == std::vector<milliseconds>{milliseconds{std::numeric_limits<std::int64_t>::max()}});
}

TEST_CASE("parser: unknown fields are ignored") {
  const Parsed p = parse_every_split("foo: bar\nevent2: x\ndata: a\nretryx: 5\n\n");
  CHECK(p.events == Events{message("a")});
  CHECK(p.retries.empty());
}

TEST_CASE("parser: data may hold NUL and UTF-8") {
  CHECK(parse_every_split("data: a\0b \xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\n\n"s).events ==
        Events{message("a\0b \xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"s)});
}

TEST_CASE("parser: handlers may be left empty") {
  es::Parser parser({});
  CHECK(parser.feed("retry: 5\n: c\nid: 3\ndata: a\n\n") == es::ParseError::none);
  CHECK(parser.last_event_id() == "3");
}

TEST_CASE("parser: an unterminated event at the end of the stream is discarded") {
  Parsed out;
  es::Parser parser(recording_into(out));
  CHECK(parser.feed("data: a\n") == es::ParseError::none);
  parser.end_of_stream();
  CHECK(parser.feed("\n") == es::ParseError::none);
  CHECK(parser.feed("data: b") == es::ParseError::none);
  parser.end_of_stream();
  CHECK(parser.feed("\n\n") == es::ParseError::none);
  CHECK(out.events.empty());
}

TEST_CASE("parser: end of stream treats a pending CR as a line end") {
  Parsed out;
  es::Parser parser(recording_into(out));
  CHECK(parser.feed("data: a\n\r") == es::ParseError::none);
  CHECK(out.events == Events{message("a")});
  parser.end_of_stream();
  // The next stream's first LF is a line end of its own, not the rest of a CRLF.
  CHECK(parser.feed("data: b\n\n") == es::ParseError::none);
  CHECK(out.events == Events{message("a"), message("b")});
}

TEST_CASE("parser: end of stream keeps the last event id and drops the unfinished event's id") {
  Parsed out;
  es::Parser parser(recording_into(out));
  CHECK(parser.feed("id: 1\ndata: a\n\nid: 2\ndata: b\n") == es::ParseError::none);
  parser.end_of_stream();
  CHECK(parser.last_event_id() == "1");
  CHECK(parser.feed("data: c\n\n") == es::ParseError::none);
  CHECK(out.events == Events{message("a", "1"), message("c", "1")});
}

TEST_CASE("parser: after end of stream a BOM is skipped again") {
  Parsed out;
  es::Parser parser(recording_into(out));
  CHECK(parser.feed("\xEF\xBB\xBF" "data: a\n\n") == es::ParseError::none);
  parser.end_of_stream();
  CHECK(parser.feed("\xEF\xBB") == es::ParseError::none);
  CHECK(parser.feed("\xBF" "data: b\n\n") == es::ParseError::none);
  CHECK(out.events == Events{message("a"), message("b")});
}

TEST_CASE("parser: reset forgets the last event id and the pending event") {
  Parsed out;
  es::Parser parser(recording_into(out));
  CHECK(parser.feed("id: 1\ndata: a\n\nevent: x\ndata: b\n") == es::ParseError::none);
  parser.reset();
  CHECK(parser.last_event_id().empty());
  CHECK(parser.feed("\xEF\xBB\xBF" "data: c\n\n") == es::ParseError::none);
  CHECK(out.events == Events{message("a", "1"), message("c", "")});
}

TEST_CASE("parser: a line longer than max_line is an error") {
  const es::ParserLimits limits{.max_line = 8, .max_event = 100};
  CHECK(parse_every_split("data: 12\n\n", limits).events == Events{message("12")});
  const Parsed p = parse_every_split("data: a\n\ndata: 123\n\ndata: b\n\n", limits);
  CHECK(p.error == es::ParseError::line_too_long);
  CHECK(p.events == Events{message("a")});
  // Comments count too: every line is held in memory before it is understood.
  CHECK(parse_every_split(": 1234567\n", limits).error == es::ParseError::line_too_long);
}

TEST_CASE("parser: a line over max_line is refused before its line end arrives") {
  es::Parser parser({}, {.max_line = 8, .max_event = 100});
  CHECK(parser.feed("data: 12") == es::ParseError::none);
  CHECK(parser.feed("3") == es::ParseError::line_too_long);
  es::Parser unbounded_input({}, {.max_line = 8, .max_event = 100});
  CHECK(unbounded_input.feed(std::string(1 << 20, 'x')) == es::ParseError::line_too_long);
}

TEST_CASE("parser: after a limit error the parser stays failed until reset") {
  Parsed out;
  es::Parser parser(recording_into(out), {.max_line = 8, .max_event = 100});
  CHECK(parser.feed("data: 123456789\n") == es::ParseError::line_too_long);
  CHECK(parser.feed("data: a\n\n") == es::ParseError::line_too_long);
  CHECK(parser.error() == es::ParseError::line_too_long);
  CHECK(out.events.empty());
  parser.reset();
  CHECK(parser.error() == es::ParseError::none);
  CHECK(parser.feed("data: a\n\n") == es::ParseError::none);
  CHECK(out.events == Events{message("a")});
}

TEST_CASE("parser: end of stream clears a limit error and keeps the last event id") {
  Parsed out;
  es::Parser parser(recording_into(out), {.max_line = 8, .max_event = 100});
  CHECK(parser.feed("id: 1\n\ndata: 123456789") == es::ParseError::line_too_long);
  parser.end_of_stream();
  CHECK(parser.error() == es::ParseError::none);
  CHECK(parser.feed("data: a\n\n") == es::ParseError::none);
  CHECK(out.events == Events{message("a", "1")});
}

TEST_CASE("parser: an event larger than max_event is an error") {
  const es::ParserLimits limits{.max_line = 100, .max_event = 10};
  // Data and name together: "12345\n1234" is 10 bytes.
  CHECK(parse_every_split("data: 12345\ndata: 1234\n\n", limits).events == Events{message("12345\n1234")});
  CHECK(parse_every_split("event: x\ndata: 12345\ndata: 123\n\n", limits).events ==
        Events{named("x", "12345\n123")});
  CHECK(parse_every_split("data: 12345\ndata: 12345\n\n", limits).error == es::ParseError::event_too_large);
  CHECK(parse_every_split("event: x\ndata: 12345\ndata: 1234\n\n", limits).error == es::ParseError::event_too_large);
  CHECK(parse_every_split("data: 12345\ndata: 1234\nevent: x\n\n", limits).error == es::ParseError::event_too_large);
  CHECK(parse_every_split("event: 12345678901\n", limits).error == es::ParseError::event_too_large);
}

TEST_CASE("parser: the event limit applies to each event, not to the stream") {
  std::string stream;
  for (int i = 0; i < 1000; ++i) stream += "data: 1234567890\n\n";
  Parsed out;
  es::Parser parser(recording_into(out), {.max_line = 100, .max_event = 10});
  CHECK(parser.feed(stream) == es::ParseError::none);
  CHECK(out.events.size() == 1000);
}

TEST_CASE("parser: many short data lines cannot grow an event past max_event") {
  std::string stream;
  for (int i = 0; i < 100000; ++i) stream += "data\n";
  es::Parser parser({}, {.max_line = 100, .max_event = 1000});
  CHECK(parser.feed(stream) == es::ParseError::event_too_large);
}

TEST_CASE("parser: describe names the error and the limit") {
  const es::ParserLimits limits{.max_line = 8, .max_event = 100};
  CHECK(es::describe(es::ParseError::none, limits) == "no error");
  CHECK(es::describe(es::ParseError::line_too_long, limits) == "line too long (over 8 bytes)");
  CHECK(es::describe(es::ParseError::event_too_large, limits) == "event too large (over 100 bytes)");
}
