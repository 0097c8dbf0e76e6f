// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// SocketIo over TLS (OpenSSL, non-blocking): the handshake runs on the event
// loop step by step, reads and writes say which readiness they wait for, and
// bytes OpenSSL has decrypted but not returned count as buffered input.
// Writes gather the queue's pieces into one record-sized buffer, so a batch
// of events costs one SSL_write, not one per event.

#include "net/io/socket_io.hpp"
#include "net/io/tls_context.hpp"

#include <memory>

typedef struct ssl_st SSL;

namespace es {

class TlsSocketIo final : public SocketIo {
 public:
  TlsSocketIo(int fd, std::shared_ptr<SSL_CTX> context);
  ~TlsSocketIo() override;
  TlsSocketIo(const TlsSocketIo&) = delete;
  TlsSocketIo& operator=(const TlsSocketIo&) = delete;

  int fd() const noexcept override { return fd_; }
  IoResult handshake() override;
  IoResult read(char* buffer, std::size_t size) override;
  IoResult write(std::span<const iovec> pieces) override;
  bool has_buffered_input() const noexcept override;
  void shutdown_write() noexcept override;
  void abort() noexcept override;

 private:
  IoResult result_of(int ret, IoWant when_blocked);

  int fd_;
  std::shared_ptr<SSL_CTX> context_; // kept alive while the connection uses it (SIGHUP swaps the server's)
  SSL* ssl_ = nullptr;
  bool handshake_done_ = false;
};

/// Connections over TLS with the context's current key and certificate.
SocketIoFactory tls_socket_io(const TlsContext& context);

}  // namespace es
