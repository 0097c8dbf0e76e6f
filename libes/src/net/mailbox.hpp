// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// How other threads talk to an event loop: messages pushed under a mutex
// onto a vector the loop swaps out whole, and an eventfd that wakes it.
//
// A wake-up is a system call on each side, so it is made only when needed:
// the loop says when it is about to sleep (prepare_to_sleep) and when it is
// awake again (woke); a push writes the eventfd only while the loop sleeps,
// and only once per sleep. A loop that is busy finds the messages when it
// next takes them (every turn). The eventfd is watched edge-triggered
// (EPOLLET), so the loop never reads it: each write is an edge, and its
// counter (2^64 - 1) cannot fill up with one write per sleep.

#include <cstddef>
#include <iterator>
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

 private:
  int fd_ = -1;
};

template <class Message>
class Mailbox {
 public:
  /// The descriptor the loop waits on, edge-triggered (EPOLLIN | EPOLLET).
  int fd() const noexcept { return wakeup_.fd(); }

  /// Any thread. False once closed: the message was not taken.
  bool push(Message message) {
    bool wake = false;
    {
      std::lock_guard lock(mutex_);
      if (closed_) return false;
      messages_.push_back(std::move(message));
      wake = needs_signal();
    }
    if (wake) wakeup_.signal();
    return true;
  }

  /// Any thread: all of `batch`, in order, with one lock and at most one
  /// wake-up. False once closed (nothing was taken; `batch` is left as it was).
  bool push_all(std::vector<Message>& batch) {
    bool wake = false;
    {
      std::lock_guard lock(mutex_);
      if (closed_) return false;
      if (messages_.empty())
        messages_.swap(batch);
      else
        messages_.insert(messages_.end(), std::make_move_iterator(batch.begin()), std::make_move_iterator(batch.end()));
      wake = needs_signal();
    }
    batch.clear();
    if (wake) wakeup_.signal();
    return true;
  }

  /// Loop thread, before waiting: false when messages are waiting (do not
  /// sleep: take them); true when pushes will now wake the loop.
  bool prepare_to_sleep() {
    std::lock_guard lock(mutex_);
    if (!messages_.empty()) return false;
    sleeping_ = true;
    return true;
  }

  /// Loop thread, after waiting: pushes no longer wake it until it sleeps again.
  void woke() {
    std::lock_guard lock(mutex_);
    sleeping_ = false;
    signalled_ = false;
  }

  /// Loop thread: everything pushed so far, oldest first (`into` is cleared first).
  void take(std::vector<Message>& into) {
    into.clear();
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
  // Under mutex_.
  bool needs_signal() {
    if (!sleeping_ || signalled_) return false;
    signalled_ = true;
    return true;
  }

  Wakeup wakeup_;
  std::mutex mutex_;
  std::vector<Message> messages_;
  bool sleeping_ = false;  ///< between prepare_to_sleep() and woke()
  bool signalled_ = false; ///< the eventfd was written during this sleep
  bool closed_ = false;
};

}  // namespace es
