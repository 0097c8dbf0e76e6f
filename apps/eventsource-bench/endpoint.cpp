// SPDX-License-Identifier: GPL-3.0-or-later
#include "endpoint.hpp"

#include <cstring>
#include <memory>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

namespace es::bench {

bool Endpoint::is_ipv4_loopback() const noexcept {
  if (address.ss_family != AF_INET) return false;
  sockaddr_in v4{};
  std::memcpy(&v4, &address, sizeof v4);
  return (ntohl(v4.sin_addr.s_addr) >> 24) == 127;
}

Result<Endpoint> Endpoint::resolve(const std::string& host, std::uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (const int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0)
    return Failure{"cannot resolve '" + host + "': " + gai_strerror(rc)};
  const std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> owner(found, &freeaddrinfo);
  Endpoint endpoint;
  std::memcpy(&endpoint.address, found->ai_addr, found->ai_addrlen);
  endpoint.length = found->ai_addrlen;
  endpoint.text = (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + service;
  return endpoint;
}

sockaddr_in loopback_source(unsigned index, unsigned count) noexcept {
  sockaddr_in source{};
  source.sin_family = AF_INET;
  source.sin_port = 0;
  source.sin_addr.s_addr = htonl((127u << 24) | (1u + index % (count == 0 ? 1 : count)));
  return source;
}

}  // namespace es::bench
