// SPDX-License-Identifier: GPL-3.0-or-later
#include "common/log_writer.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <utility>

#include <csignal>

#include <poll.h>
#include <pthread.h>
#include <unistd.h>

namespace es {
namespace {

constexpr int drain_timeout_ms = 2000; // at exit, for a descriptor that stays stuck
constexpr std::chrono::milliseconds batch_delay{10};
constexpr std::size_t busy_batch_bytes = 4096; // a batch this big: lines are coming fast

}  // namespace

LogWriter::LogWriter(int fd, std::size_t capacity) : fd_(fd), capacity_(capacity), thread_([this] { run(); }) {}

LogWriter::~LogWriter() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void LogWriter::write(std::string_view line) {
  {
    std::lock_guard lock(mutex_);
    if (pending_.size() + line.size() + 1 > capacity_) {
      ++dropped_unreported_;
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    const bool was_empty = pending_.empty();
    pending_.append(line);
    pending_ += '\n';
    if (!was_empty) return; // the writer is awake already
  }
  wake_.notify_one();
}

void LogWriter::run() {
  // A reader that went away must cost lines, not the process: write() then
  // fails with EPIPE instead of raising SIGPIPE.
  sigset_t pipe_signal;
  sigemptyset(&pipe_signal);
  sigaddset(&pipe_signal, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_signal, nullptr);
  std::string writing;
  bool busy = false;
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stopping_ || !pending_.empty() || dropped_unreported_ > 0; });
    if (pending_.empty() && dropped_unreported_ == 0) return; // stopping, nothing left
    // While lines come fast (the last batch was big), let them gather for a
    // moment: one wake-up and a few writes per batch instead of a futex wake
    // and a write per line (an access line per publish made that a sixth of
    // the loop's time). A quiet server's lines go out at once.
    if (busy && !stopping_) wake_.wait_for(lock, batch_delay, [&] { return stopping_; });
    writing.clear();
    writing.swap(pending_);
    busy = writing.size() >= busy_batch_bytes;
    const std::uint64_t dropped = std::exchange(dropped_unreported_, 0);
    const bool stopping = stopping_;
    lock.unlock();
    if (dropped > 0)
      // Said where the gap is, before the lines that came after it.
      writing.insert(0, "warning: " + std::to_string(dropped) + " log lines dropped: the log output was not being read\n");
    const bool written = write_all(writing);
    lock.lock();
    if (stopping && !written) return;
  }
}

bool LogWriter::write_all(const std::string& bytes) {
  // Waits for room with poll() and writes at most PIPE_BUF at a time, which
  // a pipe reported writable always takes whole: a write never blocks, so a
  // stuck descriptor cannot hold the server at exit.
  constexpr std::size_t chunk = 4096;
  std::size_t done = 0;
  auto deadline = std::chrono::steady_clock::time_point::max();
  while (done < bytes.size()) {
    bool stopping = false;
    {
      std::lock_guard lock(mutex_);
      stopping = stopping_;
    }
    if (stopping && deadline == std::chrono::steady_clock::time_point::max())
      deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(drain_timeout_ms);
    if (std::chrono::steady_clock::now() >= deadline) return false;
    pollfd p{fd_, POLLOUT, 0};
    const int ready = ::poll(&p, 1, 200); // looks at `stopping_` again at least this often
    if (ready < 0 && errno != EINTR) return false;
    if (ready <= 0) continue;
    if (p.revents & (POLLERR | POLLNVAL)) return false;
    const ssize_t n = ::write(fd_, bytes.data() + done, std::min(chunk, bytes.size() - done));
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    return false; // closed or broken: the lines are lost, the server goes on
  }
  return true;
}

}  // namespace es
