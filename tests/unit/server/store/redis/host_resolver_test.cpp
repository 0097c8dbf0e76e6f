// SPDX-License-Identifier: GPL-3.0-or-later
// Redis host names are resolved off the loop (host_resolver.hpp).
#include "server/store/redis/host_resolver.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <thread>

namespace {

/// Polls as the store does, up to a deadline.
std::optional<es::Result<std::string>> wait_for(const es::HostResolver& r) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (;;) {
    if (auto found = r.result()) return found;
    if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace

TEST_CASE("host resolver: a numeric address is its own answer, at once") {
  CHECK(es::HostResolver::is_numeric("127.0.0.1"));
  CHECK(es::HostResolver::is_numeric("::1"));
  CHECK(es::HostResolver::is_numeric("2001:db8::7"));
  CHECK_FALSE(es::HostResolver::is_numeric("localhost"));
  CHECK_FALSE(es::HostResolver::is_numeric("10.0.0"));
  CHECK_FALSE(es::HostResolver::is_numeric(""));
  es::HostResolver v4("10.1.2.3");
  REQUIRE(v4.result());
  REQUIRE(*v4.result());
  CHECK(v4.result()->value() == "10.1.2.3");
  es::HostResolver v6("::1");
  REQUIRE(v6.result());
  CHECK(v6.result()->value() == "::1");
}

TEST_CASE("host resolver: a name is looked up on a thread of its own, IPv4 first") {
  es::HostResolver r("localhost"); // /etc/hosts
  const auto found = wait_for(r);
  REQUIRE(found);
  REQUIRE_MESSAGE(*found, found->error());
  CHECK(found->value() == "127.0.0.1");
}

TEST_CASE("host resolver: dropped while it resolves, its thread finishes alone") {
  for (int i = 0; i < 20; ++i) es::HostResolver dropped("localhost");
  es::HostResolver kept("localhost");
  CHECK(wait_for(kept));
}
