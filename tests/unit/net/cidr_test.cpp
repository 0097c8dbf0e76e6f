// SPDX-License-Identifier: GPL-3.0-or-later
#include "net/cidr.hpp"

#include <doctest/doctest.h>

#include <string>
#include <string_view>

namespace {

es::Cidr range(std::string_view text) {
  auto r = es::Cidr::parse(text);
  REQUIRE_MESSAGE(static_cast<bool>(r), r.error());
  return *r;
}

}  // namespace

TEST_CASE("cidr: IPv4 ranges match by prefix, a bare address is one host") {
  CHECK(range("127.0.0.0/8").contains("127.0.0.1"));
  CHECK(range("127.0.0.0/8").contains("127.255.1.2"));
  CHECK_FALSE(range("127.0.0.0/8").contains("128.0.0.1"));
  CHECK(range("10.1.2.3").contains("10.1.2.3"));
  CHECK_FALSE(range("10.1.2.3").contains("10.1.2.4"));
  CHECK(range("192.168.0.0/23").contains("192.168.1.200"));
  CHECK_FALSE(range("192.168.0.0/23").contains("192.168.2.1"));
  CHECK(range("0.0.0.0/0").contains("8.8.8.8"));
  CHECK_FALSE(range("0.0.0.0/0").contains("::1"));
}

TEST_CASE("cidr: IPv6 ranges, and IPv4 peers seen through an IPv6 socket") {
  CHECK(range("::1").contains("::1"));
  CHECK_FALSE(range("::1").contains("::2"));
  CHECK(range("fd00::/8").contains("fd12:3456::1"));
  CHECK_FALSE(range("fd00::/8").contains("fe80::1"));
  CHECK(range("127.0.0.0/8").contains("::ffff:127.0.0.1"));
  CHECK(range("::/0").contains("2001:db8::1"));
}

TEST_CASE("cidr: bad ranges are refused with a reason, bad peers never match") {
  CHECK(es::Cidr::parse("localhost").error() ==
        "\"localhost\" is not an IPv4 or IPv6 address or range (like 10.0.0.0/8)");
  CHECK(es::Cidr::parse("10.0.0.0/33").error() == "\"10.0.0.0/33\": the prefix length must be 0 to 32");
  CHECK(es::Cidr::parse("::/129").error() == "\"::/129\": the prefix length must be 0 to 128");
  CHECK_FALSE(es::Cidr::parse("10.0.0.0/"));
  CHECK_FALSE(es::Cidr::parse("10.0.0.0/8x"));
  // Regression (issue 15): "-0" passed from_chars as 0, a range of everything.
  CHECK(es::Cidr::parse("10.0.0.0/-0").error() == "\"10.0.0.0/-0\": the prefix length must be 0 to 32");
  CHECK_FALSE(es::Cidr::parse("::/+8"));
  CHECK(range("10.0.0.0/008").contains("10.1.2.3"));  // leading zeros are harmless
  CHECK_FALSE(range("0.0.0.0/0").contains("not an address"));
  CHECK(es::any_contains({range("10.0.0.0/8"), range("::1")}, "::1"));
  CHECK_FALSE(es::any_contains({}, "127.0.0.1"));
}

TEST_CASE("cidr: a NUL byte is not part of an address") {
  // Regression (issue 15, found by fuzz/cidr): inet_pton read the text as a C
  // string, so everything from a NUL on was ignored.
  using namespace std::string_literals;
  CHECK_FALSE(es::Cidr::parse("10.0.0.0\0junk"s));
  CHECK_FALSE(es::Cidr::parse("10.0.0.0\0/8"s));
  CHECK_FALSE(es::Cidr::parse("::1\0"s));
  CHECK_FALSE(range("10.0.0.0/8").contains("10.0.0.1\0junk"s));
  CHECK(range("10.0.0.0/8").contains("10.0.0.1"));
}
