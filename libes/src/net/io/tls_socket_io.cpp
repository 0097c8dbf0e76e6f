// SPDX-License-Identifier: GPL-3.0-or-later
#include "net/io/tls_socket_io.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include <sys/socket.h>
#include <unistd.h>

namespace es {
namespace {

constexpr std::size_t max_record = 16 * 1024; // a TLS record's plaintext

}  // namespace

TlsSocketIo::TlsSocketIo(int fd, std::shared_ptr<SSL_CTX> context) : fd_(fd), context_(std::move(context)) {
  ssl_ = SSL_new(context_.get());
  if (ssl_) {
    SSL_set_fd(ssl_, fd_);
    SSL_set_accept_state(ssl_);
  }
}

TlsSocketIo::~TlsSocketIo() {
  if (ssl_) SSL_free(ssl_);
  if (fd_ >= 0) ::close(fd_);
}

IoResult TlsSocketIo::result_of(int ret, IoWant when_blocked) {
  const int error = SSL_get_error(ssl_, ret);
  ERR_clear_error(); // per-thread queue: do not leave it to the next connection
  switch (error) {
    case SSL_ERROR_WANT_READ: return {IoStatus::would_block, 0, 0, IoWant::read};
    case SSL_ERROR_WANT_WRITE: return {IoStatus::would_block, 0, 0, IoWant::write};
    case SSL_ERROR_ZERO_RETURN: return {IoStatus::closed, 0, 0, when_blocked};
    case SSL_ERROR_SYSCALL: return {errno == 0 ? IoStatus::closed : IoStatus::failed, 0, errno, when_blocked};
    default: return {IoStatus::failed, 0, EPROTO, when_blocked};
  }
}

IoResult TlsSocketIo::handshake() {
  if (handshake_done_) return {};
  if (!ssl_) return {IoStatus::failed, 0, ENOMEM, IoWant::read};
  errno = 0;
  const int ret = SSL_do_handshake(ssl_);
  if (ret == 1) {
    handshake_done_ = true;
    return {};
  }
  return result_of(ret, IoWant::read);
}

IoResult TlsSocketIo::read(char* buffer, std::size_t size) {
  errno = 0;
  std::size_t n = 0;
  const int ret = SSL_read_ex(ssl_, buffer, size, &n);
  if (ret == 1) return {IoStatus::ok, n, 0};
  return result_of(ret, IoWant::read);
}

IoResult TlsSocketIo::write(std::span<const iovec> pieces) {
  // Records of up to 16 KB, gathered from the queue's pieces, until the
  // socket is full or everything offered is written. A retry after
  // want-write offers the same bytes first (the queue still holds them,
  // maybe followed by more), as OpenSSL requires.
  // One scratch buffer per thread, not per connection: an idle TLS stream
  // then costs no 16 KB of its own (OpenSSL accepts a moved buffer with the
  // same bytes: SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER).
  thread_local std::string gathered_;
  std::size_t written = 0;
  std::size_t piece = 0, offset = 0;
  while (piece < pieces.size()) {
    gathered_.clear();
    while (piece < pieces.size() && gathered_.size() < max_record) {
      const auto* base = static_cast<const char*>(pieces[piece].iov_base);
      const std::size_t take = std::min(max_record - gathered_.size(), pieces[piece].iov_len - offset);
      gathered_.append(base + offset, take);
      offset += take;
      if (offset == pieces[piece].iov_len) {
        ++piece;
        offset = 0;
      }
    }
    errno = 0;
    std::size_t n = 0;
    const int ret = SSL_write_ex(ssl_, gathered_.data(), gathered_.size(), &n);
    if (ret != 1) {
      if (written > 0) {
        ERR_clear_error();
        return {IoStatus::ok, written, 0};
      }
      return result_of(ret, IoWant::write);
    }
    written += n;
    if (n < gathered_.size()) break; // partial: the socket is full
  }
  return {IoStatus::ok, written, 0};
}

bool TlsSocketIo::has_buffered_input() const noexcept { return ssl_ && SSL_pending(ssl_) > 0; }

void TlsSocketIo::shutdown_write() noexcept {
  if (ssl_ && handshake_done_) {
    SSL_shutdown(ssl_); // close_notify; the peer's is not waited for
    ERR_clear_error();
  }
  ::shutdown(fd_, SHUT_WR);
}

void TlsSocketIo::abort() noexcept { ::shutdown(fd_, SHUT_RDWR); }

SocketIoFactory tls_socket_io(const TlsContext& context) {
  return [&context](int fd) -> std::unique_ptr<SocketIo> {
    return std::make_unique<TlsSocketIo>(fd, context.current());
  };
}

}  // namespace es
