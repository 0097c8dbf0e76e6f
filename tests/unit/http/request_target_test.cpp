// SPDX-License-Identifier: GPL-3.0-or-later
#include "http/request_target.hpp"

#include <doctest/doctest.h>

using namespace es::http;

TEST_CASE("http target: the path and query split at the first question mark") {
  auto t = split_target("/poll/abc?lastEventId=7&x=?");
  REQUIRE(t);
  CHECK(t->path == "/poll/abc");
  CHECK(t->query == "lastEventId=7&x=?");
  auto plain = split_target("/stats");
  REQUIRE(plain);
  CHECK(plain->path == "/stats");
  CHECK(plain->query.empty());
  CHECK_FALSE(split_target("*"));
  CHECK_FALSE(split_target("http://host/poll/x"));
}

TEST_CASE("http target: only /first/second has two segments") {
  auto s = two_segments("/poll/abc");
  REQUIRE(s);
  CHECK(s->first == "poll");
  CHECK(s->second == "abc");
  CHECK_FALSE(two_segments("/poll/"));
  CHECK_FALSE(two_segments("/poll"));
  CHECK_FALSE(two_segments("//abc"));
  CHECK_FALSE(two_segments("/poll/a/b"));
  CHECK_FALSE(two_segments("/poll/abc/"));
}

TEST_CASE("http target: percent-decoding needs two hex digits") {
  CHECK(percent_decode("a%2Fb%20c") == "a/b c");
  CHECK(percent_decode("%e2%82%ac") == "\xe2\x82\xac");
  CHECK(percent_decode("a+b") == "a+b");
  CHECK(percent_decode("a+b", true) == "a b");
  CHECK_FALSE(percent_decode("%"));
  CHECK_FALSE(percent_decode("%4"));
  CHECK_FALSE(percent_decode("%zz"));
  CHECK(percent_decode("") == "");
}

TEST_CASE("http target: a query parameter is found by exact name and decoded") {
  CHECK(query_parameter("lastEventId=7", "lastEventId") == "7");
  CHECK(query_parameter("a=1&lastEventId=x%20y&lastEventId=2", "lastEventId") == "x y");
  CHECK(query_parameter("lasteventid=7", "lastEventId") == std::nullopt);
  CHECK(query_parameter("lastEventId", "lastEventId") == "");
  CHECK(query_parameter("", "lastEventId") == std::nullopt);
  CHECK(query_parameter("lastEventId=%zz", "lastEventId") == std::nullopt);
}
