// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// What an event loop lends to the parts that talk to the network on its
// thread without being connections of its own (the Redis store's
// connections, through the hiredis adapter): watching a descriptor, and
// timers. Everything here is called on the loop's thread and never blocks.

#include <chrono>
#include <cstdint>
#include <functional>

namespace es {

class Reactor {
 public:
  using Clock = std::chrono::steady_clock;
  using TimerId = std::uint64_t;

  class IoHandler {
   public:
    /// `events`: the epoll flags that are ready (EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP).
    virtual void on_io(std::uint32_t events) = 0;

   protected:
    ~IoHandler() = default;
  };

  /// Watches `fd` for `events` (level-triggered), adding or changing its
  /// registration; 0 or the errno of the failure.
  [[nodiscard]] virtual int watch(int fd, std::uint32_t events, IoHandler& handler) = 0;
  /// Stops watching `fd` (before it is closed). Events already read for it
  /// in this turn are dropped.
  virtual void unwatch(int fd) = 0;

  /// Runs `callback` on the loop once `delay` has passed (0: after this turn's events).
  virtual TimerId call_after(std::chrono::milliseconds delay, std::function<void()> callback) = 0;
  /// A timer that has not run yet does not run; others are ignored.
  virtual void cancel(TimerId timer) = 0;

  virtual Clock::time_point now() const = 0;

 protected:
  ~Reactor() = default;
};

}  // namespace es
