// SPDX-License-Identifier: GPL-3.0-or-later
#include "http/cors.hpp"

#include <doctest/doctest.h>

TEST_CASE("cors: a listed origin is echoed with Vary: Origin, others get nothing") {
  const es::CorsPolicy policy({"https://a.example", "https://b.example"});
  CHECK(policy.enabled());
  const es::CorsHeaders a = policy.headers_for("https://a.example");
  CHECK(a.allow_origin == "https://a.example");
  CHECK(a.vary_origin);
  CHECK(a.lines() == "Access-Control-Allow-Origin: https://a.example\r\nVary: Origin\r\n");
  CHECK(policy.headers_for("https://evil.example").empty());
  CHECK(policy.headers_for("https://evil.example").lines().empty());
  CHECK(policy.headers_for(std::nullopt).empty());
  CHECK(policy.headers_for("").empty());
}

TEST_CASE("cors: '*' allows every origin without Vary, even a request without Origin") {
  const es::CorsPolicy policy({"*"});
  const es::CorsHeaders any = policy.headers_for("https://a.example");
  CHECK(any.allow_origin == "*");
  CHECK_FALSE(any.vary_origin);
  CHECK(any.lines() == "Access-Control-Allow-Origin: *\r\n");
  CHECK(policy.headers_for(std::nullopt).allow_origin == "*");
}

TEST_CASE("cors: no configured origin means no CORS headers at all") {
  const es::CorsPolicy policy({});
  CHECK_FALSE(policy.enabled());
  CHECK(policy.headers_for("https://a.example").empty());
}
