// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// One epoll set. Every registration reports failure (an errno) instead of
// dropping it: a descriptor that silently failed to be added or modified
// would never be served again. Callers log the failure and give up on that
// one descriptor (the connection is closed); the loop goes on.

#include <cstdint>
#include <span>

#include <sys/epoll.h>

namespace es {

class Poller {
 public:
  /// Throws std::system_error when no epoll instance can be made.
  Poller();
  ~Poller();
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;

  /// Registers `fd` for `events` (EPOLLIN, ...); `tag` comes back with each
  /// event. Each returns 0 or the errno of the failure.
  [[nodiscard]] int add(int fd, std::uint32_t events, std::uint64_t tag) noexcept;
  [[nodiscard]] int modify(int fd, std::uint32_t events, std::uint64_t tag) noexcept;
  [[nodiscard]] int remove(int fd) noexcept;

  /// Waits up to `timeout_ms` (-1: no limit); the number of events, 0 on
  /// timeout or EINTR, -1 (errno set) on failure.
  int wait(std::span<epoll_event> events, int timeout_ms) noexcept;

 private:
  int fd_ = -1;
};

}  // namespace es
