// SPDX-License-Identifier: GPL-3.0-or-later
#include "server/store/redis/host_resolver.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <mutex>
#include <system_error>
#include <thread>

namespace es {

struct HostResolver::Shared {
  std::mutex mutex;
  std::optional<Result<std::string>> result;
};

namespace {

Result<std::string> resolve(const std::string& host) {
  int last_error = EAI_NONAME;
  for (int family : {AF_INET, AF_INET6}) {
    addrinfo hints{};
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    last_error = ::getaddrinfo(host.c_str(), nullptr, &hints, &found);
    if (last_error != 0) continue;
    char text[INET6_ADDRSTRLEN] = {};
    const void* address = family == AF_INET ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(found->ai_addr)->sin_addr)
                                            : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(found->ai_addr)->sin6_addr);
    const bool ok = ::inet_ntop(family, address, text, sizeof text) != nullptr;
    ::freeaddrinfo(found);
    if (ok) return std::string(text);
  }
  return Failure{"cannot resolve " + host + ": " + ::gai_strerror(last_error)};
}

}  // namespace

HostResolver::HostResolver(std::string host) : shared_(std::make_shared<Shared>()) {
  if (is_numeric(host)) {
    shared_->result = Result<std::string>(std::move(host));
    return;
  }
  try {
    std::thread([shared = shared_, host] {
      Result<std::string> r = resolve(host);
      std::lock_guard lock(shared->mutex);
      shared->result = std::move(r);
    }).detach();
  } catch (const std::system_error& e) { // no thread to be had: a failed attempt, tried again later
    shared_->result = Result<std::string>(Failure{"cannot resolve " + host + ": " + e.what()});
  }
}

std::optional<Result<std::string>> HostResolver::result() const {
  std::lock_guard lock(shared_->mutex);
  return shared_->result;
}

bool HostResolver::is_numeric(std::string_view host) {
  const std::string text(host);
  unsigned char buffer[sizeof(in6_addr)];
  return ::inet_pton(AF_INET, text.c_str(), buffer) == 1 || ::inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

}  // namespace es
