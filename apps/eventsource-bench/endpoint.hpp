// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// Where connections go, and where they come from.

#include <es/result.hpp>

#include <cstdint>
#include <string>

#include <netinet/in.h>
#include <sys/socket.h>

namespace es::bench {

struct Endpoint {
  sockaddr_storage address{};
  socklen_t length = 0;
  std::string text;  ///< "HOST:PORT", for messages

  /// True for 127.0.0.0/8: the only destination where spreading connections
  /// over several source addresses works without configuring anything.
  bool is_ipv4_loopback() const noexcept;

  /// The first address `host` resolves to.
  static Result<Endpoint> resolve(const std::string& host, std::uint16_t port);
};

/// 127.0.0.(1 + index % count): one source address holds at most ~28,000
/// connections to one destination (the ephemeral port range, 32768–60999 by
/// default), so a run past that spreads them.
sockaddr_in loopback_source(unsigned index, unsigned count) noexcept;

}  // namespace es::bench
