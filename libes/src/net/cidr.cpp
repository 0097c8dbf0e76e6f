// SPDX-License-Identifier: GPL-3.0-or-later
#include "net/cidr.hpp"

#include <algorithm>
#include <charconv>
#include <optional>

#include <arpa/inet.h>

namespace es {
namespace {

/// `ip` as 16 bytes, IPv4 mapped into ::ffff:0:0/96; nullopt when it is not an address.
std::optional<std::array<std::uint8_t, 16>> to_bytes(std::string_view ip, bool& is_v4) {
  // inet_pton reads a C string: a NUL would end it early, and "10.0.0.1\0junk"
  // would pass for 10.0.0.1 (found by fuzz/cidr).
  if (ip.find('\0') != std::string_view::npos) return std::nullopt;
  const std::string text(ip);
  std::array<std::uint8_t, 16> bytes{};
  in_addr v4{};
  if (::inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    is_v4 = true;
    bytes[10] = 0xff;
    bytes[11] = 0xff;
    const auto* b = reinterpret_cast<const std::uint8_t*>(&v4.s_addr);
    for (int i = 0; i < 4; ++i) bytes[static_cast<std::size_t>(12 + i)] = b[i];
    return bytes;
  }
  in6_addr v6{};
  if (::inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    is_v4 = false;
    for (std::size_t i = 0; i < 16; ++i) bytes[i] = v6.s6_addr[i];
    return bytes;
  }
  return std::nullopt;
}

}  // namespace

Result<Cidr> Cidr::parse(std::string_view text) {
  Cidr range;
  range.text_ = std::string(text);
  const std::size_t slash = text.find('/');
  bool is_v4 = false;
  const auto bytes = to_bytes(text.substr(0, slash), is_v4);
  if (!bytes) return Failure{"\"" + std::string(text) + "\" is not an IPv4 or IPv6 address or range (like 10.0.0.0/8)"};
  range.address_ = *bytes;
  const int width = is_v4 ? 32 : 128;
  int bits = width;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    // Decimal digits only: from_chars would take "-0" (a range of everything).
    const bool all_digits = std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), bits);
    if (digits.empty() || !all_digits || error != std::errc{} || end != digits.data() + digits.size() || bits < 0 ||
        bits > width)
      return Failure{"\"" + std::string(text) + "\": the prefix length must be 0 to " + std::to_string(width)};
  }
  range.bits_ = is_v4 ? 96 + bits : bits;
  return range;
}

bool Cidr::contains(std::string_view ip) const {
  bool is_v4 = false;
  const auto bytes = to_bytes(ip, is_v4);
  if (!bytes) return false;
  int left = bits_;
  for (std::size_t i = 0; i < 16 && left > 0; ++i, left -= 8) {
    const auto mask = static_cast<std::uint8_t>(left >= 8 ? 0xff : 0xff << (8 - left));
    if ((address_[i] & mask) != ((*bytes)[i] & mask)) return false;
  }
  return true;
}

bool any_contains(const std::vector<Cidr>& ranges, std::string_view ip) {
  for (const Cidr& r : ranges)
    if (r.contains(ip)) return true;
  return false;
}

}  // namespace es
