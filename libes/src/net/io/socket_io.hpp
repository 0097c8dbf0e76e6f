// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// The socket I/O seam (redis' ConnectionType, h2o's h2o_socket_t): every
// byte the server reads from or writes to a connection goes through a
// SocketIo, so that TLS sits under the same loop, intake and hand-off code
// as plain TCP. What a TLS layer needs from the loop is here:
//
// - handshake(): called until it returns ok before any read or write; plain
//   TCP is done at once.
// - want: a would_block result says which readiness to wait for. TLS may
//   need to *read* before it can write (a renegotiation, a key update) or
//   write before it can read (a handshake message).
// - has_buffered_input(): bytes already taken off the socket but not yet
//   returned by read() (a TLS record holds more than was asked for). epoll
//   will not report them: the loop reads again without waiting.
//
// Results have cpp-httplib's shape (a status to test, no exceptions): a slow
// or vanished peer is expected, not exceptional.

#include <cstddef>
#include <functional>
#include <memory>
#include <span>

#include <sys/uio.h>

namespace es {

enum class IoStatus {
  ok,          ///< `bytes` were transferred (may be fewer than asked)
  would_block, ///< nothing now; wait for `want`
  closed,      ///< the peer ended the stream (read returned 0)
  failed,      ///< a socket or protocol error (reset, broken pipe, bad TLS); see `error`
};

/// Which readiness a would_block result waits for.
enum class IoWant { read, write };

struct IoResult {
  IoStatus status = IoStatus::ok;
  std::size_t bytes = 0;
  int error = 0;             ///< errno when failed
  IoWant want = IoWant::read; ///< when would_block
};

class SocketIo {
 public:
  virtual ~SocketIo() = default;
  /// The descriptor to wait on (epoll, poll).
  virtual int fd() const noexcept = 0;
  /// One step of the connection's handshake; ok once it is complete (and
  /// from then on). would_block names the readiness to wait for.
  virtual IoResult handshake() = 0;
  virtual IoResult read(char* buffer, std::size_t size) = 0;
  /// Gathers `pieces` into one write; may take only part of them.
  virtual IoResult write(std::span<const iovec> pieces) = 0;
  /// Bytes read from the socket but not yet returned by read().
  virtual bool has_buffered_input() const noexcept = 0;
  /// Sends FIN after the bytes written so far (the reading side stays open).
  virtual void shutdown_write() noexcept = 0;
  /// Wakes anyone blocked on the connection (both directions shut down);
  /// the descriptor itself stays open until the owner destroys this object.
  virtual void abort() noexcept = 0;
};

/// Makes the SocketIo for an accepted, non-blocking socket (which it then owns).
using SocketIoFactory = std::function<std::unique_ptr<SocketIo>(int fd)>;

}  // namespace es
