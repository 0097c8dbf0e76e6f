// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// How other threads talk to an event loop: messages pushed under a mutex
// onto a vector the loop swaps out whole, and an eventfd that wakes it.
// Only the push that finds the mailbox empty writes the eventfd, so a burst
// of messages costs one wake-up.

#include <cstddef>
#include <mutex>
#include <utility>
#include <vector>

namespace es {

/// The eventfd under a Mailbox (one per loop).
class Wakeup {
 public:
  Wakeup();
  ~Wakeup();
  Wakeup(const Wakeup&) = delete;
  Wakeup& operator=(const Wakeup&) = delete;

  int fd() const noexcept { return fd_; }
  void signal() noexcept;
  void drain() noexcept;

 private:
  int fd_ = -1;
};

template <class Message>
class Mailbox {
 public:
  /// The descriptor the loop waits on.
  int fd() const noexcept { return wakeup_.fd(); }

  /// Any thread. False once closed: the message was not taken.
  bool push(Message message) {
    bool wake = false;
    {
      std::lock_guard lock(mutex_);
      if (closed_) return false;
      wake = messages_.empty();
      messages_.push_back(std::move(message));
    }
    if (wake) wakeup_.signal();
    return true;
  }

  /// Loop thread: everything pushed so far, oldest first (`into` is cleared first).
  void take(std::vector<Message>& into) {
    into.clear();
    wakeup_.drain();
    std::lock_guard lock(mutex_);
    into.swap(messages_);
  }

  /// No more pushes; returns what was still queued.
  std::vector<Message> close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    return std::move(messages_);
  }

 private:
  Wakeup wakeup_;
  std::mutex mutex_;
  std::vector<Message> messages_;
  bool closed_ = false;
};

}  // namespace es
