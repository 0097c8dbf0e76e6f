// SPDX-License-Identifier: GPL-3.0-or-later
#include <doctest/doctest.h>

#include <es/url.hpp>

TEST_CASE("url: scheme, host, port and target are split out") {
  auto url = es::parse_url("http://example.org:8080/poll/t?x=1#frag");
  REQUIRE(url);
  CHECK(url->scheme == "http");
  CHECK(url->host == "example.org");
  CHECK(url->port == 8080);
  CHECK(url->target == "/poll/t?x=1");
  CHECK(url->authority() == "example.org:8080");
  CHECK(url->str() == "http://example.org:8080/poll/t?x=1");
}

TEST_CASE("url: the port defaults by scheme and the target to /") {
  auto https = es::parse_url("HTTPS://Example.org");
  REQUIRE(https);
  CHECK(https->scheme == "https");
  CHECK(https->is_tls());
  CHECK(https->port == 443);
  CHECK(https->target == "/");
  auto query_only = es::parse_url("http://h?a=b");
  REQUIRE(query_only);
  CHECK(query_only->port == 80);
  CHECK(query_only->target == "/?a=b");
}

TEST_CASE("url: an IPv6 address is written in brackets and stored without") {
  auto url = es::parse_url("http://[::1]:8888/x");
  REQUIRE(url);
  CHECK(url->host == "::1");
  CHECK(url->authority() == "[::1]:8888");
  CHECK(url->origin() == "http://[::1]:8888");
}

TEST_CASE("url: credentials are taken out of the authority and decoded") {
  auto url = es::parse_url("http://bob:pa%3Ass%40x@h:1/p");
  REQUIRE(url);
  CHECK(url->username == "bob");
  CHECK(url->password == "pa:ss@x");
  CHECK(url->host == "h");
  CHECK(url->str() == "http://h:1/p");
}

TEST_CASE("url: bytes a request-target cannot hold are percent-encoded, the rest kept") {
  auto url = es::parse_url("http://h/a b/\xC3\xA9?q=1+2&r=%41");
  REQUIRE(url);
  CHECK(url->target == "/a%20b/%C3%A9?q=1+2&r=%41");
}

TEST_CASE("url: bad URLs are refused with a reason") {
  CHECK(es::parse_url("example.org/x").error() ==
        "URL 'example.org/x' has no scheme (it should start with http:// or https://)");
  CHECK(es::parse_url("ftp://h/").error() == "unsupported scheme 'ftp' in URL (use http or https)");
  CHECK(es::parse_url("http:///x").error() == "URL 'http:///x' has no host");
  CHECK(es::parse_url("http://h:0/").error() == "URL has a bad port '0' (1 to 65535)");
  CHECK(es::parse_url("http://h:65536/").error() == "URL has a bad port '65536' (1 to 65535)");
  CHECK(es::parse_url("http://h:8a/").error() == "URL has a bad port '8a' (1 to 65535)");
  CHECK(es::parse_url("http://[::1/").error() == "URL has an unterminated IPv6 address");
}

TEST_CASE("url: a path segment encodes everything but unreserved characters") {
  CHECK(es::encode_path_segment("a-b_c.d~e09AZ") == "a-b_c.d~e09AZ");
  CHECK(es::encode_path_segment("a/b c?%#") == "a%2Fb%20c%3F%25%23");
  CHECK(es::encode_path_segment("\xC3\xA9") == "%C3%A9");
  CHECK(es::encode_path_segment("") == "");
}

TEST_CASE("url: action_path joins prefix, action and encoded token") {
  CHECK(es::action_path("", "poll", "t") == "/poll/t");
  CHECK(es::action_path("/", "poll", "t") == "/poll/t");
  CHECK(es::action_path("events", "poll", "a/b") == "/events/poll/a%2Fb");
  CHECK(es::action_path("/a/b/", "ping", "t") == "/a/b/ping/t");
}

TEST_CASE("url: a Location is resolved against the URL it came from") {
  auto base = es::parse_url("http://u:p@h:8/a/b/c?q=1");
  REQUIRE(base);
  CHECK(es::resolve_url(*base, "https://o:9/x")->str() == "https://o:9/x");
  CHECK(es::resolve_url(*base, "//o/x")->str() == "http://o:80/x");
  CHECK(es::resolve_url(*base, "/x?y")->str() == "http://h:8/x?y");
  CHECK(es::resolve_url(*base, "d")->str() == "http://h:8/a/b/d");
  CHECK(es::resolve_url(*base, "../d")->str() == "http://h:8/a/b/../d");
  CHECK(es::resolve_url(*base, "?r=2")->str() == "http://h:8/a/b/c?r=2");
  CHECK_FALSE(es::resolve_url(*base, "ftp://o/x"));
}

TEST_CASE("url: credentials follow a Location only on the same origin") {
  auto base = es::parse_url("http://u:p@h:8/a");
  REQUIRE(base);
  auto same = es::resolve_url(*base, "/b");
  CHECK(same->username == "u");
  CHECK(same->password == "p");
  auto other = es::resolve_url(*base, "http://elsewhere:8/b");
  CHECK(other->username.empty());
  CHECK(other->password.empty());
}
