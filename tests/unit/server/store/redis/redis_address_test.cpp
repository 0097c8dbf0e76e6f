// SPDX-License-Identifier: GPL-3.0-or-later
#include "server/store/redis/redis_address.hpp"

#include <doctest/doctest.h>

#include <string>
#include <string_view>

namespace {

es::RedisAddress parsed(std::string_view url) {
  auto a = es::RedisAddress::parse(url);
  REQUIRE_MESSAGE(static_cast<bool>(a), a.error());
  return *a;
}

std::string refusal(std::string_view url) {
  auto a = es::RedisAddress::parse(url);
  REQUIRE_FALSE(static_cast<bool>(a));
  return a.error();
}

}  // namespace

TEST_CASE("redis address: host, port and database, with defaults") {
  const auto plain = parsed("redis://localhost");
  CHECK(plain.host == "localhost");
  CHECK(plain.port == 6379);
  CHECK(plain.db == 0);
  CHECK(plain.unix_path.empty());
  const auto full = parsed("redis://10.0.0.5:6380/3");
  CHECK(full.host == "10.0.0.5");
  CHECK(full.port == 6380);
  CHECK(full.db == 3);
  const auto v6 = parsed("redis://[::1]:7000/1");
  CHECK(v6.host == "::1");
  CHECK(v6.port == 7000);
  CHECK(v6.db == 1);
}

TEST_CASE("redis address: the password is kept but masked in what is shown") {
  const auto a = parsed("redis://:s3cret@cache:6379/2");
  CHECK(a.password == "s3cret");
  CHECK(a.host == "cache");
  CHECK(a.db == 2);
  CHECK(a.display == "redis://:***@cache:6379/2");
  CHECK(a.display.find("s3cret") == std::string::npos);
}

TEST_CASE("redis address: unix sockets, with a database and a password") {
  const auto a = parsed("unix:///run/redis/redis.sock");
  CHECK(a.unix_path == "/run/redis/redis.sock");
  CHECK(a.host.empty());
  const auto b = parsed("unix://:pw@/tmp/r.sock?db=4");
  CHECK(b.unix_path == "/tmp/r.sock");
  CHECK(b.db == 4);
  CHECK(b.password == "pw");
  CHECK(b.display == "unix://:***@/tmp/r.sock?db=4");
}

TEST_CASE("redis address: bad URLs say what is wrong and never show the password") {
  CHECK(refusal("http://localhost").find("unknown scheme") != std::string::npos);
  CHECK(refusal("rediss://h").find("TLS") != std::string::npos);
  CHECK(refusal("redis://h:0").find("port") != std::string::npos);
  CHECK(refusal("redis://h:99999").find("port") != std::string::npos);
  CHECK(refusal("redis://h/x").find("database") != std::string::npos);
  CHECK(refusal("redis://").find("no host") != std::string::npos);
  CHECK(refusal("unix://relative.sock").find("absolute") != std::string::npos);
  CHECK(refusal("redis://user:pw@h").find("user names") != std::string::npos);
}
