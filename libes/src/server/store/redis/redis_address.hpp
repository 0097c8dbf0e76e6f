// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// Where the Redis store connects, read from the --redis URL:
//   redis://[:password@]host[:port][/db]      (host may be [IPv6])
//   unix://[:password@]/path/to/redis.sock[?db=N]
// Pure. `display` is the URL without the password, for logs and errors.

#include <es/result.hpp>

#include <string>
#include <string_view>

namespace es {

struct RedisAddress {
  std::string host;      ///< empty for a unix socket
  int port = 6379;
  std::string unix_path; ///< set for unix://
  std::string password;  ///< empty: no AUTH
  int db = 0;
  std::string display;   ///< the URL as written, with the password masked

  static Result<RedisAddress> parse(std::string_view url);
};

}  // namespace es
