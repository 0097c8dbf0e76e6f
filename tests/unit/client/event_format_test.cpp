// SPDX-License-Identifier: GPL-3.0-or-later
#include <doctest/doctest.h>

#include <es/event_format.hpp>

namespace {

es::Event event(std::string name, std::string data, std::string id = "") {
  es::Event e;
  e.name = std::move(name);
  e.data = std::move(data);
  e.id = std::move(id);
  return e;
}

}  // namespace

TEST_CASE("event format: for people, a header line then each data line behind a bar") {
  auto e = event("ping", "first\n  second", "7");
  e.retry = std::chrono::milliseconds(5000);
  CHECK(es::format_for_people(e) == "ping id=7 retry=5000ms\n| first\n|   second\n\n");
}

TEST_CASE("event format: for people, an unnamed event is a message and shows no empty id") {
  CHECK(es::format_for_people(event("", "x")) == "message\n| x\n\n");
}

TEST_CASE("event format: for people, empty lines and empty data stay visible and countable") {
  CHECK(es::format_for_people(event("", "")) == "message\n|\n\n");
  CHECK(es::format_for_people(event("", "\n")) == "message\n|\n|\n\n");
  CHECK(es::format_for_people(event("", "a\n\nb\n")) == "message\n| a\n|\n| b\n|\n\n");
}

TEST_CASE("event format: for people, control characters cannot reach the terminal") {
  CHECK(es::format_for_people(event("x\x1b", "\x1b[2Jred\ttab\x7f", "\x01")) ==
        "x\\x1b id=\\x01\n| \\x1b[2Jred\ttab\\x7f\n\n");
}

TEST_CASE("event format: JSON has the four fields in order, null for absent id and retry") {
  CHECK(es::format_json_line(event("", "a\nb")) ==
        "{\"event\":\"message\",\"data\":\"a\\nb\",\"id\":null,\"retry\":null}\n");
  auto e = event("tick", "{\"n\":1}", "42");
  e.retry = std::chrono::milliseconds(250);
  CHECK(es::format_json_line(e) == "{\"event\":\"tick\",\"data\":\"{\\\"n\\\":1}\",\"id\":\"42\",\"retry\":250}\n");
}

TEST_CASE("event format: JSON replaces bytes that are not UTF-8 instead of failing") {
  CHECK(es::format_json_line(event("", "ok\xff")) ==
        "{\"event\":\"message\",\"data\":\"ok\xEF\xBF\xBD\",\"id\":null,\"retry\":null}\n");
}

TEST_CASE("event format: data only is the data and a line end") {
  CHECK(es::format_data_line(event("ping", "a\nb", "3")) == "a\nb\n");
  CHECK(es::format_data_line(event("", "")) == "\n");
}
