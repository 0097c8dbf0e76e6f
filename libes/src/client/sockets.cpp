// SPDX-License-Identifier: GPL-3.0-or-later
#include "client/sockets.hpp"

#include <cerrno>
#include <ctime>

#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

namespace es::client_detail {

SocketRegistry::~SocketRegistry() { release_all(); }

void SocketRegistry::adopt(int fd) {
  const int duplicate = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  std::lock_guard lock(mu_);
  ++adopted_;
  if (stopping_) ::shutdown(fd, SHUT_RDWR);
  if (duplicate >= 0) duplicates_.push_back(duplicate);
}

void SocketRegistry::shut_down() noexcept {
  std::lock_guard lock(mu_);
  stopping_ = true;
  for (const int fd : duplicates_) ::shutdown(fd, SHUT_RDWR);
}

bool SocketRegistry::stopping() const {
  std::lock_guard lock(mu_);
  return stopping_;
}

void SocketRegistry::release_all() {
  std::lock_guard lock(mu_);
  for (const int fd : duplicates_) ::close(fd);
  duplicates_.clear();
  adopted_ = 0;
}

std::size_t SocketRegistry::adopted() const {
  std::lock_guard lock(mu_);
  return adopted_;
}

SigpipeBlock::SigpipeBlock() {
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, &old_);
  was_blocked_ = sigismember(&old_, SIGPIPE) == 1;
}

SigpipeBlock::~SigpipeBlock() {
  if (was_blocked_) return;
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  const timespec no_wait{0, 0};
  // A thread-directed SIGPIPE stays pending while blocked: take it, or it
  // would be delivered when the mask is restored.
  while (sigtimedwait(&pipe, nullptr, &no_wait) == SIGPIPE) {
  }
  pthread_sigmask(SIG_SETMASK, &old_, nullptr);
}

}  // namespace es::client_detail
