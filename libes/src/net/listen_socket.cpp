// SPDX-License-Identifier: GPL-3.0-or-later
#include "net/listen_socket.hpp"

#include "common/format.hpp"

#include <cerrno>
#include <cstring>
#include <memory>
#include <system_error>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

namespace es {
namespace {

std::uint16_t bound_port(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return 0;
  if (addr.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
  return ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
}

void describe_peer(const sockaddr_storage& addr, AcceptedSocket& out) {
  char text[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&addr);
    ::inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text);
    out.port = ntohs(a->sin6_port);
  } else {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&addr);
    ::inet_ntop(AF_INET, &a->sin_addr, text, sizeof text);
    out.port = ntohs(a->sin_port);
  }
  out.ip = text;
}

constexpr std::string_view refusal =
    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 26\r\n"
    "Connection: close\r\n\r\nToo many open connections\n";

}  // namespace

ListenSocket::ListenSocket(const std::string& host, std::uint16_t port, int backlog, bool reuse_port) {
  const std::string where = format_address(host, port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &found); rc != 0)
    throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                            "cannot listen on " + where + ": " + ::gai_strerror(rc));
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> list(found, &::freeaddrinfo);

  int last_error = 0;
  for (addrinfo* ai = found; ai; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last_error = errno;
      continue;
    }
    int one = 1;
    // Without SO_REUSEADDR a restart fails while old connections sit in TIME_WAIT.
    if (::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0 &&
        (!reuse_port || ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) == 0) &&
        ::bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && ::listen(fd, backlog) == 0) {
      fd_ = fd;
      break;
    }
    last_error = errno;
    ::close(fd);
  }
  if (fd_ < 0)
    throw std::system_error(last_error, std::generic_category(), "cannot listen on " + where);
  port_ = bound_port(fd_);
  address_ = format_address(host, port_);
  take_spare();
}

ListenSocket::~ListenSocket() {
  close();
  if (spare_ >= 0) ::close(spare_);
}

void ListenSocket::close() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void ListenSocket::take_spare() noexcept {
  if (spare_ < 0) spare_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

AcceptStatus ListenSocket::accept(AcceptedSocket& out, int& error) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  int fd = ::accept4(fd_, reinterpret_cast<sockaddr*>(&addr), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd >= 0) {
    int one = 1;
    // Events are small and latency matters more than packet count. Should it
    // fail, the connection still works (with Nagle's delays): the caller logs it.
    if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) out.nodelay_error = errno;
    out.fd = fd;
    describe_peer(addr, out);
    return AcceptStatus::accepted;
  }
  error = errno;
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return AcceptStatus::none_pending;
  if (errno == EMFILE || errno == ENFILE) {
    if (spare_ < 0) return AcceptStatus::stalled;
    ::close(spare_);
    spare_ = -1;
    int refused = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (refused >= 0) {
      // Best effort: a fresh socket's send buffer takes this at once.
      [[maybe_unused]] auto n = ::send(refused, refusal.data(), refusal.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      ::close(refused);
    }
    take_spare();
    return AcceptStatus::refused;
  }
  // ECONNABORTED, EPROTO, ENOBUFS, ...: the connection is gone; keep serving.
  return AcceptStatus::failed;
}

}  // namespace es
