// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// The socket I/O seam: every byte the server reads from or writes to a
// connection goes through ConnectionIo, so TLS can later sit under the same
// loop and hand-off code. The plain implementation is recv/writev on a
// non-blocking socket.
//
// Results have cpp-httplib's shape (a status to test, no exceptions): a slow
// or vanished peer is expected, not exceptional.

#include <cstddef>
#include <span>

#include <sys/uio.h>

namespace es {

enum class IoStatus {
  ok,          ///< `bytes` were transferred (may be fewer than asked)
  would_block, ///< nothing now; wait for readiness
  closed,      ///< the peer ended the stream (read returned 0)
  failed,      ///< a socket error (reset, broken pipe, ...); see `error`
};

struct IoResult {
  IoStatus status = IoStatus::ok;
  std::size_t bytes = 0;
  int error = 0; ///< errno when failed
};

class ConnectionIo {
 public:
  virtual ~ConnectionIo() = default;
  /// The descriptor to wait on (epoll, poll).
  virtual int fd() const noexcept = 0;
  virtual IoResult read(char* buffer, std::size_t size) = 0;
  /// Gathers `pieces` into one write; may take only part of them.
  virtual IoResult write(std::span<const iovec> pieces) = 0;
  /// Sends FIN after the bytes written so far (the reading side stays open).
  virtual void shutdown_write() noexcept = 0;
  /// Wakes anyone blocked on the connection (both directions shut down);
  /// the descriptor itself stays open until the owner destroys this object.
  virtual void abort() noexcept = 0;
};

/// ConnectionIo over a connected non-blocking TCP socket; closes it on destruction.
class PlainSocketIo final : public ConnectionIo {
 public:
  explicit PlainSocketIo(int fd) noexcept : fd_(fd) {}
  ~PlainSocketIo() override;
  PlainSocketIo(const PlainSocketIo&) = delete;
  PlainSocketIo& operator=(const PlainSocketIo&) = delete;

  int fd() const noexcept override { return fd_; }
  IoResult read(char* buffer, std::size_t size) override;
  IoResult write(std::span<const iovec> pieces) override;
  void shutdown_write() noexcept override;
  void abort() noexcept override;

 private:
  int fd_;
};

}  // namespace es
