// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// Where the server's log lines go when no sink is given: a bounded buffer
// that a thread of its own writes to a descriptor (stderr). The event loop
// never waits for the log: when the descriptor is stuck (a pipe nobody
// reads, a terminal on hold) and the buffer is full, lines are dropped and
// counted, and once writing moves again one line says how many were lost.

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace es {

class LogWriter {
 public:
  /// Writes to `fd` (not closed); holds at most `capacity` bytes unwritten.
  explicit LogWriter(int fd, std::size_t capacity = 1 << 20);
  /// Writes what is buffered (for at most `drain_timeout` if the descriptor
  /// is stuck), then stops the thread.
  ~LogWriter();
  LogWriter(const LogWriter&) = delete;
  LogWriter& operator=(const LogWriter&) = delete;

  /// Any thread; never blocks on the descriptor. `line` has no line end.
  void write(std::string_view line);
  /// Lines dropped so far because the buffer was full.
  std::uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }

 private:
  void run();
  bool write_all(const std::string& bytes);

  int fd_;
  std::size_t capacity_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::string pending_;
  std::uint64_t dropped_unreported_ = 0;
  bool stopping_ = false;
  std::atomic<std::uint64_t> dropped_{0};
  std::thread thread_;
};

}  // namespace es
