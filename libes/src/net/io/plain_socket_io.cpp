// SPDX-License-Identifier: GPL-3.0-or-later
#include "net/io/plain_socket_io.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <memory>

#include <sys/socket.h>
#include <unistd.h>

namespace es {
namespace {

IoResult from_errno(IoWant want) {
  if (errno == EAGAIN || errno == EWOULDBLOCK) return {IoStatus::would_block, 0, 0, want};
  return {IoStatus::failed, 0, errno, want};
}

}  // namespace

PlainSocketIo::~PlainSocketIo() {
  if (fd_ >= 0) ::close(fd_);
}

IoResult PlainSocketIo::read(char* buffer, std::size_t size) {
  for (;;) {
    ssize_t n = ::recv(fd_, buffer, size, 0);
    if (n > 0) return {IoStatus::ok, static_cast<std::size_t>(n), 0};
    if (n == 0) return {IoStatus::closed, 0, 0};
    if (errno == EINTR) continue;
    return from_errno(IoWant::read);
  }
}

IoResult PlainSocketIo::write(std::span<const iovec> pieces) {
  msghdr msg{};
  msg.msg_iov = const_cast<iovec*>(pieces.data());
  msg.msg_iovlen = std::min<std::size_t>(pieces.size(), IOV_MAX);
  for (;;) {
    // sendmsg rather than writev: MSG_NOSIGNAL, so a vanished peer is EPIPE, not SIGPIPE.
    ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
    if (n >= 0) return {IoStatus::ok, static_cast<std::size_t>(n), 0};
    if (errno == EINTR) continue;
    return from_errno(IoWant::write);
  }
}

void PlainSocketIo::shutdown_write() noexcept { ::shutdown(fd_, SHUT_WR); }

void PlainSocketIo::abort() noexcept { ::shutdown(fd_, SHUT_RDWR); }

SocketIoFactory plain_socket_io() {
  return [](int fd) -> std::unique_ptr<SocketIo> { return std::make_unique<PlainSocketIo>(fd); };
}

}  // namespace es
