// SPDX-License-Identifier: GPL-3.0-or-later
#include "server/store/redis/redis_address.hpp"

#include <charconv>

namespace es {
namespace {

constexpr std::string_view usage =
    "expected redis://[:password@]host[:port][/db] or unix:///path/to/redis.sock[?db=N]";

Failure bad(std::string_view url, std::string_view why) {
  return Failure{"bad Redis URL \"" + std::string(url) + "\": " + std::string(why) + " (" + std::string(usage) + ")"};
}

bool parse_number(std::string_view text, int low, int high, int& out) {
  if (text.empty()) return false;
  int value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size() || value < low || value > high) return false;
  out = value;
  return true;
}

/// Splits "[user]:password@" off `rest`; Redis 6 ACL users are not supported (AUTH password only).
Result<std::string> take_password(std::string_view url, std::string_view& rest) {
  const auto at = rest.rfind('@');
  if (at == std::string_view::npos) return std::string();
  std::string_view credentials = rest.substr(0, at);
  rest.remove_prefix(at + 1);
  const auto colon = credentials.find(':');
  if (colon == std::string_view::npos || colon != 0)
    return bad(url, "give the password as :password@ (user names are not supported)");
  return std::string(credentials.substr(1));
}

std::string masked(std::string_view url, const std::string& password) {
  std::string text(url);
  if (password.empty()) return text;
  const auto at = text.rfind(password + "@");
  if (at != std::string::npos) text.replace(at, password.size(), "***");
  return text;
}

}  // namespace

Result<RedisAddress> RedisAddress::parse(std::string_view url) {
  RedisAddress a;
  std::string_view rest;
  if (url.starts_with("redis://")) {
    rest = url.substr(8);
  } else if (url.starts_with("unix://")) {
    rest = url.substr(7);
  } else if (url.starts_with("rediss://")) {
    return bad(url, "TLS to Redis (rediss://) is not supported: Debian 12's hiredis has no TLS");
  } else {
    return bad(url, "unknown scheme");
  }
  auto password = take_password(url, rest);
  if (!password) return Failure{password.error()};
  a.password = std::move(password).value();
  a.display = masked(url, a.password);

  if (url.starts_with("unix://")) {
    const auto q = rest.find('?');
    std::string_view path = rest.substr(0, q);
    if (path.empty() || path.front() != '/') return bad(url, "a unix socket needs an absolute path");
    a.unix_path = std::string(path);
    if (q != std::string_view::npos) {
      std::string_view query = rest.substr(q + 1);
      if (!query.starts_with("db=") || !parse_number(query.substr(3), 0, 1 << 20, a.db))
        return bad(url, "the only query parameter is db=N");
    }
    return a;
  }

  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    std::string_view db = rest.substr(slash + 1);
    if (!db.empty() && !parse_number(db, 0, 1 << 20, a.db)) return bad(url, "the database must be a number");
  }
  std::string_view port;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return bad(url, "unclosed [ in the host");
    a.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad(url, "unexpected text after the host");
      port = after.substr(1);
    }
  } else {
    const auto colon = authority.find(':');
    a.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (a.host.empty()) return bad(url, "no host");
  if (!port.empty() && !parse_number(port, 1, 65535, a.port)) return bad(url, "the port must be 1 to 65535");
  return a;
}

}  // namespace es
