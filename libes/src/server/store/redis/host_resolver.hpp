// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// A Redis host name resolved off the event loop. hiredis resolves the host
// with a blocking getaddrinfo() inside redisAsyncConnect(): on the home
// loop, a resolver that does not answer (a DNS server gone away) would stall
// every publish and stream of that loop for its whole timeout, at each
// reconnect. Here getaddrinfo() runs on a thread of its own, detached: the
// loop polls result() and hands hiredis a numeric address, which it does
// not look up. Dropping the resolver leaves the thread to finish alone.

#include <es/result.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace es {

class HostResolver {
 public:
  /// Starts resolving `host` (IPv4 preferred, as hiredis does).
  explicit HostResolver(std::string host);

  /// The address as numeric text once known, or why there is none;
  /// nullopt while resolving.
  std::optional<Result<std::string>> result() const;

  /// Whether `host` is already a numeric IPv4 or IPv6 address.
  static bool is_numeric(std::string_view host);

 private:
  struct Shared;
  std::shared_ptr<Shared> shared_;
};

}  // namespace es
