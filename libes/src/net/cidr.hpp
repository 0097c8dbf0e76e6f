// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// Address ranges in CIDR notation ("127.0.0.0/8", "::1", "10.1.2.3"), and
// whether a peer's address falls in one: who may read /stats, /metrics and
// /health (--admin-allow). IPv4 peers seen through an IPv6 socket
// ("::ffff:127.0.0.1") match IPv4 ranges. Pure.

#include <es/result.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace es {

class Cidr {
 public:
  /// "ADDRESS" (one host) or "ADDRESS/BITS", IPv4 or IPv6.
  static Result<Cidr> parse(std::string_view text);
  /// True when `ip` (as inet_ntop writes it) is inside the range.
  bool contains(std::string_view ip) const;
  const std::string& text() const noexcept { return text_; }

 private:
  std::array<std::uint8_t, 16> address_{}; ///< IPv4 as an IPv4-mapped IPv6 address
  int bits_ = 128;                          ///< of the 128, IPv4 ranges counting from 96
  std::string text_;
};

/// True when `ip` is in any of `ranges`.
bool any_contains(const std::vector<Cidr>& ranges, std::string_view ip);

}  // namespace es
