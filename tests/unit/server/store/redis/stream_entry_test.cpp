// SPDX-License-Identifier: GPL-3.0-or-later
#include "server/store/redis/stream_entry.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace {

const es::EventKind text_kind = es::EventKind::string_events();
const es::EventKind json_kind = es::EventKind::json_events();

es::Result<es::StreamEvent> entry(std::vector<es::EntryField> fields, const es::EventKind& kind = text_kind,
                                  std::size_t max = 1000) {
  return es::event_from_entry(fields, es::EntryRules{kind, max});
}

}  // namespace

TEST_CASE("stream entry: ids are positions, and back") {
  auto p = es::parse_entry_id("1732886400000-7");
  REQUIRE(static_cast<bool>(p));
  CHECK(p->major == 1732886400000u);
  CHECK(p->minor == 7u);
  CHECK(es::format_entry_id(*p) == "1732886400000-7");
  CHECK(*es::parse_entry_id("5-1") < *es::parse_entry_id("5-2"));
  CHECK(*es::parse_entry_id("5-9") < *es::parse_entry_id("6-0"));
  CHECK_FALSE(static_cast<bool>(es::parse_entry_id("42")));
  CHECK_FALSE(static_cast<bool>(es::parse_entry_id("a-1")));
  CHECK_FALSE(static_cast<bool>(es::parse_entry_id("1-")));
  CHECK_FALSE(static_cast<bool>(es::parse_entry_id("")));
}

TEST_CASE("stream entry: event, data and retry fields, other fields ignored") {
  auto e = entry({{"event", "ping"}, {"data", "hello"}, {"source", "cron"}});
  REQUIRE(static_cast<bool>(e));
  CHECK(e->event.name == "ping");
  CHECK(e->event.data == "hello");
  CHECK_FALSE(e->close_after);
  auto unnamed = entry({{"data", "x"}});
  REQUIRE(static_cast<bool>(unnamed));
  CHECK(unnamed->event.type() == "message");
  auto retry = entry({{"retry", "2500"}, {"data", ""}});
  REQUIRE(static_cast<bool>(retry));
  CHECK(retry->event.retry == std::chrono::milliseconds(2500));
}

TEST_CASE("stream entry: event close ends the streams after it") {
  auto e = entry({{"event", "close"}, {"data", ""}});
  REQUIRE(static_cast<bool>(e));
  CHECK(e->close_after);
}

TEST_CASE("stream entry: what is skipped, and why") {
  CHECK(entry({{"event", "ping"}}).error().find("no data") != std::string::npos);
  CHECK(entry({{"retry", "soon"}, {"data", ""}}).error().find("retry") != std::string::npos);
  CHECK(entry({{"data", std::string(1001, 'x')}}).error().find("max-body") != std::string::npos);
  CHECK(entry({{"data", "{not json"}}, json_kind).error().find("JSON") != std::string::npos);
  auto json = entry({{"data", "{ \"a\" : 1 }"}}, json_kind);
  REQUIRE(static_cast<bool>(json));
  CHECK(json->event.data == "{\"a\":1}");
}

TEST_CASE("stream entry: what XADD writes reads back as the same event") {
  es::Event e;
  e.name = "update";
  e.data = "line one\nline two";
  e.retry = std::chrono::milliseconds(1500);
  std::string retry_text;
  const auto fields = es::entry_fields(e, retry_text);
  auto back = entry(fields);
  REQUIRE(static_cast<bool>(back));
  CHECK(back->event == e);

  es::Event plain;
  plain.data = "x";
  const auto plain_fields = es::entry_fields(plain, retry_text);
  CHECK(plain_fields.size() == 1);
}

TEST_CASE("stream entry: a PUBLISH payload is a live event without name or id") {
  auto e = es::event_from_message("hello", es::EntryRules{text_kind, 100});
  REQUIRE(static_cast<bool>(e));
  CHECK(e->data == "hello");
  CHECK(e->name.empty());
  CHECK(e->id.empty());
  CHECK_FALSE(static_cast<bool>(es::event_from_message("nope", es::EntryRules{json_kind, 100})));
}
