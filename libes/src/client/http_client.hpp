// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// The one place where an httplib::Client is set up for libes's clients
// (the reconnecting stream and publish): one request per connection, the
// target sent as already encoded, timeouts, basic auth, TLS verification
// and CA file, and every socket registered so stop() can wake it.

#include "client/sockets.hpp"

#include <httplib.h>

#include <chrono>
#include <string>

namespace es::client_detail {

struct HttpClientSettings {
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds write_timeout{10000};
  std::chrono::milliseconds read_timeout{10000};
  std::string username; ///< basic auth when not empty
  std::string password;
  bool verify_tls = true;
  std::string ca_file; ///< empty: the system's authorities
};

void configure_client(httplib::Client& http, const HttpClientSettings& settings, SocketRegistry& sockets);

}  // namespace es::client_detail
