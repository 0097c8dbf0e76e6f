// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// SocketIo over a connected non-blocking TCP socket: recv and sendmsg, no
// handshake, nothing buffered. Closes the socket on destruction.

#include "net/io/socket_io.hpp"

namespace es {

class PlainSocketIo final : public SocketIo {
 public:
  explicit PlainSocketIo(int fd) noexcept : fd_(fd) {}
  ~PlainSocketIo() override;
  PlainSocketIo(const PlainSocketIo&) = delete;
  PlainSocketIo& operator=(const PlainSocketIo&) = delete;

  int fd() const noexcept override { return fd_; }
  IoResult handshake() override { return {}; }
  IoResult read(char* buffer, std::size_t size) override;
  IoResult write(std::span<const iovec> pieces) override;
  bool has_buffered_input() const noexcept override { return false; }
  void shutdown_write() noexcept override;
  void abort() noexcept override;

 private:
  int fd_;
};

/// The factory of plain TCP connections.
SocketIoFactory plain_socket_io();

}  // namespace es
