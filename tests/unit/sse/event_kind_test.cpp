// SPDX-License-Identifier: GPL-3.0-or-later
#include <es/event_kind.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <string>

namespace {

using namespace std::chrono_literals;

/// The upstream README's OneLineEvent: multi-line data joined with ';' and
/// only ping and close allowed. This is the whole definition.
es::EventKind one_line_events() {
  es::EventKind kind = es::EventKind::string_events();
  kind.name = "one-line";
  kind.actions = {"ping", "close"};
  kind.transform = [](std::string_view body) -> es::Result<std::string> { return es::join_lines(body, ";"); };
  return kind;
}

/// The README's OneLineTimeStampEvent: the same with a timestamp for id.
es::EventKind one_line_timestamp_events(es::TimestampIdSource::Clock clock) {
  es::EventKind kind = one_line_events();
  kind.name = "one-line-timestamp";
  kind.ids = std::make_shared<es::TimestampIdSource>(std::move(clock));
  return kind;
}

es::Event make(const es::EventKind& kind, std::string_view action, std::string_view body) {
  auto made = kind.make_event(action, body);
  REQUIRE_MESSAGE(made, made.error());
  return std::move(made).value();
}

std::string failure(const es::EventKind& kind, std::string_view action, std::string_view body) {
  auto made = kind.make_event(action, body);
  REQUIRE_FALSE(made);
  return made.error();
}

es::Event named(std::string name, std::string data) {
  es::Event e;
  e.name = std::move(name);
  e.data = std::move(data);
  return e;
}

es::Event retry_only(std::chrono::milliseconds ms) {
  es::Event e;
  e.retry = ms;
  return e;
}

}  // namespace

TEST_CASE("event_kind: the four ready-made kinds allow ping, close and retry only") {
  for (const auto& kind : {es::EventKind::string_events(), es::EventKind::json_events(),
                           es::EventKind::string_id_events(), es::EventKind::json_id_events()}) {
    CAPTURE(kind.name);
    CHECK(kind.actions == std::set<std::string, std::less<>>{"ping", "close", "retry"});
    CHECK(kind.allows("ping"));
    CHECK(kind.allows("close"));
    CHECK(kind.allows("retry"));
    CHECK_FALSE(kind.allows("poll"));
    CHECK_FALSE(kind.allows("Ping"));
    CHECK_FALSE(kind.allows(""));
  }
}

TEST_CASE("event_kind: the ready-made kinds are named for logs and --help") {
  CHECK(es::EventKind::string_events().name == "string");
  CHECK(es::EventKind::json_events().name == "json");
  CHECK(es::EventKind::string_id_events().name == "string-id");
  CHECK(es::EventKind::json_id_events().name == "json-id");
}

TEST_CASE("event_kind: only the id kinds carry an id source, a counter from 1") {
  CHECK(es::EventKind::string_events().ids == nullptr);
  CHECK(es::EventKind::json_events().ids == nullptr);
  const auto string_ids = es::EventKind::string_id_events().ids;
  const auto json_ids = es::EventKind::json_id_events().ids;
  REQUIRE(string_ids != nullptr);
  REQUIRE(json_ids != nullptr);
  CHECK(dynamic_cast<es::CounterIdSource*>(string_ids.get()) != nullptr);
  CHECK(string_ids->next("t") == "1");
  CHECK(json_ids->next("t") == "1");
}

TEST_CASE("event_kind: make_event leaves the id to the publisher") {
  CHECK(make(es::EventKind::string_id_events(), "ping", "x").id.empty());
  CHECK(make(es::EventKind::json_id_events(), "ping", "1").id.empty());
}

TEST_CASE("event_kind: string events carry the body as is, line breaks included") {
  const auto kind = es::EventKind::string_events();
  CHECK(make(kind, "ping", "hello") == named("ping", "hello"));
  // Splitting into data: lines is the serializer's job.
  CHECK(make(kind, "ping", "a\nb\r\nc\rd") == named("ping", "a\nb\r\nc\rd"));
  CHECK(make(kind, "ping", "") == named("ping", ""));
  CHECK(make(kind, "ping", "{not json") == named("ping", "{not json"));
}

TEST_CASE("event_kind: json events are sent as written, whitespace between tokens removed, on one line") {
  const auto kind = es::EventKind::json_events();
  CHECK(make(kind, "ping", "{ \"a\" : [1, 2,\n 3],\r\n \"b\": \"x\\ny\" }") == named("ping", R"({"a":[1,2,3],"b":"x\ny"})"));
  CHECK(make(kind, "ping", " 42 ") == named("ping", "42"));
  CHECK(make(kind, "ping", "\"caf\xC3\xA9\"") == named("ping", "\"caf\xC3\xA9\""));
  CHECK(make(kind, "ping", "null") == named("ping", "null"));
}

TEST_CASE("event_kind: json keeps the publisher's key order, number text and escapes (as event-source-library)") {
  const auto kind = es::EventKind::json_events();
  CHECK(make(kind, "ping", "{\"zeta\": 1, \"alpha\": \"\xC3\xA9\"}") == named("ping", "{\"zeta\":1,\"alpha\":\"\xC3\xA9\"}"));
  CHECK(make(kind, "ping", "123456789012345678901234567890") == named("ping", "123456789012345678901234567890"));
  CHECK(make(kind, "ping", "[1.50, 2E3, -0]") == named("ping", "[1.50,2E3,-0]"));
  CHECK(make(kind, "ping", "{\"a b\" : \"c \\\" d\\u00e9\" }") == named("ping", "{\"a b\":\"c \\\" d\\u00e9\"}"));
  CHECK(make(kind, "ping", "{\"dup\":1,\"dup\":2}") == named("ping", "{\"dup\":1,\"dup\":2}"));
  CHECK(make(kind, "ping", "\xEF\xBB\xBF[1]") == named("ping", "[1]"));
}

TEST_CASE("event_kind: a json body that does not parse fails naming the problem and where") {
  const auto kind = es::EventKind::json_events();
  CHECK(failure(kind, "ping", "x") ==
        "data is not valid JSON: syntax error while parsing value - invalid literal; last read: 'x' at line 1, column 1");
  CHECK(failure(kind, "ping", "{\"a\": }") ==
        "data is not valid JSON: syntax error while parsing value - unexpected '}'; expected '[', '{', or a literal at line 1, column 7");
  CHECK(failure(kind, "ping", "[1,\n2,") ==
        "data is not valid JSON: syntax error while parsing value - unexpected end of input; expected '[', '{', or a literal at line 2, column 3");
  CHECK(failure(kind, "ping", "") ==
        "data is not valid JSON: syntax error while parsing value - unexpected end of input; expected '[', '{', or a literal at line 1, column 1");
}

TEST_CASE("event_kind: a json body with a NUL byte fails, whatever comes before it") {
  // Regression (issue 15, found by fuzz/json_event): nlohmann takes a NUL for
  // the end of the input, so "1\0..." passed as JSON and the bytes after the
  // NUL, line breaks included, were sent on as the event's data.
  using namespace std::string_literals;
  const auto kind = es::EventKind::json_events();
  CHECK(failure(kind, "ping", "1\0\"\r\ndata: injected"s) ==
        "data is not valid JSON: a NUL byte (it must be escaped as \\u0000 in a string) at line 1, column 2");
  CHECK(failure(kind, "ping", "{\"a\":\n [1]}\0"s) ==
        "data is not valid JSON: a NUL byte (it must be escaped as \\u0000 in a string) at line 2, column 6");
  CHECK_FALSE(es::compact_json("\0"s));
  CHECK_FALSE(es::compact_json("\"a\0b\""s));
  // Escaped, it is a string like any other.
  CHECK(make(kind, "ping", "\"a\\u0000b\"").data == "\"a\\u0000b\"");
}

TEST_CASE("event_kind: a json number too large for a double fails with the number named") {
  CHECK(failure(es::EventKind::json_events(), "ping", "1e500") == "data is not valid JSON: number overflow parsing '1e500'");
}

TEST_CASE("event_kind: json nested deeper than the limit fails instead of exhausting the stack") {
  const auto kind = es::EventKind::json_events();
  const auto depth = static_cast<std::size_t>(es::max_json_depth);
  const std::string deepest_allowed = std::string(depth, '[') + std::string(depth, ']');
  CHECK(make(kind, "ping", deepest_allowed).data == deepest_allowed);
  const std::string too_deep = std::string(depth + 1, '[') + std::string(depth + 1, ']');
  CHECK(failure(kind, "ping", too_deep) == "data nests JSON arrays and objects deeper than 512 levels");
  // A megabyte of '[' (dump() would recurse once per level).
  CHECK(failure(kind, "ping", std::string(1 << 20, '[')) == "data nests JSON arrays and objects deeper than 512 levels");
  const std::string deep_objects = [] {
    std::string s;
    for (int i = 0; i < 600; ++i) s += "{\"k\":";
    return s + "1" + std::string(600, '}');
  }();
  CHECK(failure(kind, "ping", deep_objects) == "data nests JSON arrays and objects deeper than 512 levels");
}

TEST_CASE("event_kind: compact_json and keep_text are usable on their own") {
  const auto compact = es::compact_json("[ true ,false ]");
  REQUIRE(compact);
  CHECK(*compact == "[true,false]");
  CHECK_FALSE(es::compact_json("[1,]"));
  const auto kept = es::keep_text(" a\n b ");
  REQUIRE(kept);
  CHECK(*kept == " a\n b ");
}

TEST_CASE("event_kind: retry gives an event with only the reconnection time set") {
  for (const auto& kind : {es::EventKind::string_events(), es::EventKind::json_events()}) {
    CAPTURE(kind.name);
    CHECK(make(kind, "retry", "5000") == retry_only(5000ms));
    CHECK(make(kind, "retry", "0") == retry_only(0ms));
    CHECK(make(kind, "retry", "007") == retry_only(7ms));
    CHECK(make(kind, "retry", "86400000") == retry_only(86'400'000ms));
  }
}

TEST_CASE("event_kind: retry refuses anything but decimal digits") {
  const auto kind = es::EventKind::json_events();
  CHECK(failure(kind, "retry", "abc") == "retry needs a whole number of milliseconds, got 'abc'");
  CHECK(failure(kind, "retry", "") == "retry needs a whole number of milliseconds, got ''");
  CHECK(failure(kind, "retry", "-5") == "retry needs a whole number of milliseconds, got '-5'");
  CHECK(failure(kind, "retry", "1.5") == "retry needs a whole number of milliseconds, got '1.5'");
  CHECK(failure(kind, "retry", " 100") == "retry needs a whole number of milliseconds, got ' 100'");
  CHECK(failure(kind, "retry", "100\n") == "retry needs a whole number of milliseconds, got '100\n'");
  CHECK(failure(kind, "retry", "+1") == "retry needs a whole number of milliseconds, got '+1'");
}

TEST_CASE("event_kind: retry refuses more than a day") {
  const auto kind = es::EventKind::string_events();
  CHECK(failure(kind, "retry", "86400001") == "retry needs at most 86400000 milliseconds (one day), got '86400001'");
  CHECK(failure(kind, "retry", "99999999999999999999999") ==
        "retry needs at most 86400000 milliseconds (one day), got '99999999999999999999999'");
}

TEST_CASE("event_kind: a long bad body is quoted only in part in the message") {
  const std::string body = std::string(40, 'a') + "TAIL";
  CHECK(failure(es::EventKind::string_events(), "retry", body) ==
        "retry needs a whole number of milliseconds, got '" + std::string(40, 'a') + "...'");
}

TEST_CASE("event_kind: close is an event named close, with or without a body, in every kind") {
  for (const auto& kind : {es::EventKind::string_events(), es::EventKind::json_events(),
                           es::EventKind::string_id_events(), es::EventKind::json_id_events(), one_line_events()}) {
    CAPTURE(kind.name);
    CHECK(make(kind, "close", "") == named("close", ""));
  }
  CHECK(make(es::EventKind::string_events(), "close", "bye\nnow") == named("close", "bye\nnow"));
  CHECK(make(es::EventKind::json_events(), "close", "{ \"reason\": \"done\" }") == named("close", R"({"reason":"done"})"));
  CHECK(make(one_line_events(), "close", "bye\nnow") == named("close", "bye;now"));
}

TEST_CASE("event_kind: a non-empty close body must still be valid for the kind") {
  CHECK(failure(es::EventKind::json_events(), "close", "bye") ==
        "data is not valid JSON: syntax error while parsing value - invalid literal; last read: 'b' at line 1, column 1");
}

TEST_CASE("event_kind: a disallowed action fails, naming what is allowed") {
  CHECK(failure(es::EventKind::string_events(), "shout", "hi") == "action 'shout' is not allowed (allowed: close, ping, retry)");
  CHECK(failure(one_line_events(), "retry", "100") == "action 'retry' is not allowed (allowed: close, ping)");
}

TEST_CASE("event_kind: an empty action set allows every action") {
  es::EventKind open = es::EventKind::string_events();
  open.actions.clear();
  CHECK(open.allows("anything"));
  CHECK(open.allows("ping"));
  CHECK(make(open, "update", "v2") == named("update", "v2"));
  // The special actions keep their meaning.
  CHECK(make(open, "retry", "250") == retry_only(250ms));
  CHECK(make(open, "close", "") == named("close", ""));
}

TEST_CASE("event_kind: a kind without a transform sends the body as is") {
  es::EventKind bare;
  bare.actions = {"note"};
  CHECK(make(bare, "note", "a\nb") == named("note", "a\nb"));
}

TEST_CASE("event_kind: a transform's failure message is passed on") {
  es::EventKind strict = es::EventKind::string_events();
  strict.transform = [](std::string_view body) -> es::Result<std::string> {
    if (body.size() > 3) return es::Failure{"data is longer than 3 bytes"};
    return std::string(body);
  };
  CHECK(make(strict, "ping", "abc") == named("ping", "abc"));
  CHECK(failure(strict, "ping", "abcd") == "data is longer than 3 bytes");
}

TEST_CASE("event_kind: join_lines turns every line break, CRLF LF or CR, into the separator") {
  CHECK(es::join_lines("a\nb\nc", ";") == "a;b;c");
  CHECK(es::join_lines("a\r\nb\rc", ";") == "a;b;c");
  CHECK(es::join_lines("a\n\nb", ";") == "a;;b");
  CHECK(es::join_lines("a\r\r\nb", ";") == "a;;b");
  CHECK(es::join_lines("a\n", ";") == "a;");  // as Python's ";".join("a\n".split("\n"))
  CHECK(es::join_lines("\r\n", ";") == ";");
  CHECK(es::join_lines("", ";") == "");
  CHECK(es::join_lines("no breaks", ";") == "no breaks");
  CHECK(es::join_lines("a\nb", " / ") == "a / b");
  CHECK(es::join_lines("a\nb", "") == "ab");
}

TEST_CASE("event_kind: OneLineEvent from the upstream README is a few lines") {
  const es::EventKind kind = one_line_events();
  CHECK(kind.allows("ping"));
  CHECK(kind.allows("close"));
  CHECK_FALSE(kind.allows("retry"));
  CHECK(kind.ids == nullptr);
  CHECK(make(kind, "ping", "first line\nsecond line\r\nthird") == named("ping", "first line;second line;third"));
}

TEST_CASE("event_kind: OneLineTimeStampEvent adds timestamp ids to OneLineEvent") {
  auto now = std::make_shared<std::chrono::system_clock::time_point>(std::chrono::seconds(1'700'000'000));
  const es::EventKind kind = one_line_timestamp_events([now] { return *now; });
  REQUIRE(kind.ids != nullptr);
  es::Event e = make(kind, "ping", "a\nb");
  e.id = kind.ids->next("t");
  CHECK(e.id == "1700000000000000");
  CHECK(e.data == "a;b");
  CHECK(kind.ids->next("t") == "1700000000000001");
}

TEST_CASE("event_kind: copies of a kind share its id source") {
  const es::EventKind original = es::EventKind::string_id_events();
  const es::EventKind copy = original;  // NOLINT(performance-unnecessary-copy-initialization)
  CHECK(original.ids->next("t") == "1");
  CHECK(copy.ids->next("t") == "2");
}
