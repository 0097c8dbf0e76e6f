// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// On the home loop: how far the other loops have written the publications
// it posted to them, so that a publisher is held back by every loop's
// backlog and not only by the home loop's (FanoutScheduler's rule, "answered
// once everything queued before its event has been written", over all loops).
//
// Every publication posted to another loop gets the next number (sent).
// That loop acknowledges, in order, each publication whose backlog ahead of
// it has been written (written). written_through() is the highest number
// with everything up to it acknowledged by every loop: a publisher that
// arrived after publication N was posted is answered once it reaches N.
// Pure: no threads, no sockets (tests/unit/server/loop/remote_backlog_test.cpp).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

namespace es {

class RemoteBacklog {
 public:
  explicit RemoteBacklog(std::size_t loops) : loops_(loops) {}

  /// A publication was posted to `loop`; returns its number.
  std::uint64_t sent(std::size_t loop) {
    loops_.at(loop).unwritten.push_back(++last_sent_);
    return last_sent_;
  }
  /// `loop` has written the backlog ahead of the first `count` publications
  /// posted to it (counts only grow; a stale one is ignored).
  void written(std::size_t loop, std::uint64_t count) {
    Loop& l = loops_.at(loop);
    while (l.acknowledged < count && !l.unwritten.empty()) {
      l.unwritten.pop_front();
      ++l.acknowledged;
    }
  }
  /// The number of the newest publication posted so far (0: none).
  std::uint64_t last_sent() const noexcept { return last_sent_; }
  /// Every publication up to this number has had its backlog written.
  std::uint64_t written_through() const noexcept {
    std::uint64_t oldest = last_sent_ + 1;
    for (const Loop& l : loops_)
      if (!l.unwritten.empty()) oldest = std::min(oldest, l.unwritten.front());
    return oldest - 1;
  }

 private:
  struct Loop {
    std::deque<std::uint64_t> unwritten; // numbers posted, not yet acknowledged, oldest first
    std::uint64_t acknowledged = 0;
  };
  std::vector<Loop> loops_;
  std::uint64_t last_sent_ = 0;
};

}  // namespace es
