// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// The listening socket, bound by us rather than by cpp-httplib: Debian's
// libcpp-httplib listens with a backlog of 5 (a burst of 1,000 connects left
// a third unconnected), so we listen(fd, 4096).
//
// Running out of descriptors (EMFILE/ENFILE) must not make an epoll loop
// spin on a listening socket that stays readable: a spare descriptor is kept
// open; when accept fails for lack of descriptors it is freed, the pending
// connection is accepted, told 503 and closed, and the spare taken back
// (libev's and nginx's remedy).

#include <cstdint>
#include <string>

#include <sys/socket.h>

namespace es {

struct AcceptedSocket {
  int fd = -1;                 ///< non-blocking, close-on-exec
  std::string ip;
  int port = 0;
  int nodelay_error = 0;       ///< errno when TCP_NODELAY could not be set (it works, but slower)
};

enum class AcceptStatus {
  accepted,        ///< `out` holds a new connection
  none_pending,    ///< nothing to accept now
  refused,         ///< out of descriptors: one connection was refused with 503
  stalled,         ///< out of descriptors and no spare: stop accepting for a while
  failed,          ///< another error (logged by the caller, never fatal)
};

class ListenSocket {
 public:
  /// Binds `host`:`port` (port 0: any free port) and listens. Throws
  /// std::system_error "cannot listen on HOST:PORT: reason".
  /// `reuse_port`: SO_REUSEPORT, so that every event loop listens on the
  /// port with a socket of its own and the kernel spreads new connections.
  ListenSocket(const std::string& host, std::uint16_t port, int backlog = 4096, bool reuse_port = false);
  ~ListenSocket();
  ListenSocket(const ListenSocket&) = delete;
  ListenSocket& operator=(const ListenSocket&) = delete;

  int fd() const noexcept { return fd_; }
  std::uint16_t port() const noexcept { return port_; }
  /// "HOST:PORT" as configured, with the bound port ("[::1]:8888" for IPv6).
  const std::string& address() const noexcept { return address_; }

  AcceptStatus accept(AcceptedSocket& out, int& error);
  /// Stops listening (new connects are refused by the kernel).
  void close() noexcept;

 private:
  void take_spare() noexcept;

  int fd_ = -1;
  int spare_ = -1;
  std::uint16_t port_ = 0;
  std::string address_;
};

}  // namespace es
