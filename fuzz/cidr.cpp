// SPDX-License-Identifier: GPL-3.0-or-later
// Fuzz target: es::Cidr (libes/src/net/cidr.cpp), the ranges of --admin-allow.
//
// Input: "RANGE\nADDRESS" (no LF: the range alone, checked against its own
// address).
//
// Checks:
// - a range is accepted only when it is an address (inet_pton's IPv4 or IPv6
//   text, nothing else: no NUL, no blank, nothing after it) and, after '/',
//   only decimal digits, at most 32 (IPv4) or 128 (IPv6);
// - an accepted range contains its own address (IPv4 ones also as
//   ::ffff:a.b.c.d), and text() is the text given;
// - contains(ADDRESS) is true exactly when ADDRESS is an address whose first
//   prefix bits equal the range's, computed here from inet_pton's bytes.

#include "fuzz_support.hpp"

#include "net/cidr.hpp"

#include <array>
#include <optional>
#include <string>

#include <arpa/inet.h>

namespace {

struct Address {
  std::array<std::uint8_t, 16> bytes{};
  bool v4 = false;
};

// The reference reading: inet_pton on exactly these bytes (a NUL inside is
// not an address), IPv4 mapped to ::ffff:a.b.c.d.
std::optional<Address> reference_address(std::string_view text) {
  if (text.find('\0') != std::string_view::npos) return std::nullopt;
  const std::string s(text);
  Address a;
  in_addr v4{};
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    a.v4 = true;
    a.bytes[10] = a.bytes[11] = 0xff;
    const auto* b = reinterpret_cast<const std::uint8_t*>(&v4.s_addr);
    for (std::size_t i = 0; i < 4; ++i) a.bytes[12 + i] = b[i];
    return a;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    for (std::size_t i = 0; i < 16; ++i) a.bytes[i] = v6.s6_addr[i];
    return a;
  }
  return std::nullopt;
}

// The prefix length after '/': decimal digits only (leading zeros are
// harmless), in range; -1 otherwise.
int reference_bits(std::string_view digits, int width) {
  if (digits.empty()) return -1;
  int bits = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return -1;
    bits = bits * 10 + (c - '0');
    if (bits > width) return -1;
  }
  return bits <= width ? bits : -1;
}

bool same_prefix(const Address& a, const Address& b, int bits) {
  for (int i = 0; i < bits; ++i) {
    const auto byte = static_cast<std::size_t>(i / 8);
    const int mask = 0x80 >> (i % 8);
    if ((a.bytes[byte] & mask) != (b.bytes[byte] & mask)) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t lf = input.find('\n');
  const std::string_view text = input.substr(0, lf);
  const std::optional<std::string_view> other =
      lf == std::string_view::npos ? std::nullopt : std::optional<std::string_view>(input.substr(lf + 1));

  const es::fuzz::Piece text_copy(text);
  const es::Result<es::Cidr> range = es::Cidr::parse(text_copy.view());

  const std::size_t slash = text.find('/');
  const std::optional<Address> address = reference_address(text.substr(0, slash));
  int bits = -1;
  if (address) {
    const int width = address->v4 ? 32 : 128;
    bits = slash == std::string_view::npos ? width : reference_bits(text.substr(slash + 1), width);
  }
  FUZZ_CHECK(static_cast<bool>(range) == (bits >= 0));
  if (!range) {
    FUZZ_CHECK(!range.error().empty());
    return 0;
  }
  FUZZ_CHECK(range.value().text() == text);
  const std::string own(text.substr(0, slash));
  FUZZ_CHECK(range.value().contains(own));
  if (address->v4) FUZZ_CHECK(range.value().contains("::ffff:" + own));

  if (other) {
    const es::fuzz::Piece other_copy(*other);
    const bool contained = range.value().contains(other_copy.view());
    const std::optional<Address> peer = reference_address(*other);
    const int prefix = address->v4 ? 96 + bits : bits;
    FUZZ_CHECK(contained == (peer && same_prefix(*address, *peer, prefix)));
    FUZZ_CHECK(es::any_contains({range.value()}, *other) == contained);
  }
  return 0;
}
