// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// Which subscriber queues an event loop writes next, and when a publisher
// hears back: the fan-out's scheduling and backpressure, as a pure object
// (no sockets) so that both can be tested on their own.
//
// Queues are marked dirty when bytes are appended; the loop writes at most
// a slice of them per turn, oldest mark first, and looks at its epoll set
// in between, so a fan-out to many subscribers yields to new publishes and
// requests, and events published meanwhile join the queues not yet written:
// one writev then carries several events (docs/performance.md).
//
// A publisher is answered once every queue that was marked before its event
// arrived has been written: it may run one fan-out ahead of delivery, which
// keeps a fan-out's writes carrying several events, but never further; a
// publisher faster than its subscribers is held back instead of growing
// every queue (docs/architecture.md).

#include <es/server.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <optional>
#include <vector>

namespace es {

/// A queue as the scheduler knows it: a descriptor and the serial of the
/// connection that had it when marked (descriptors are reused).
struct QueueRef {
  int fd = -1;
  std::uint64_t serial = 0;
  friend bool operator==(const QueueRef&, const QueueRef&) = default;
};

class FanoutScheduler {
 public:
  /// Queues written per loop turn (tried 32-2048: figures barely move).
  static constexpr std::size_t default_slice = 128;

  /// `queue` has bytes to write. The caller marks a queue once until it is
  /// taken by next() (Connection::dirty).
  void mark(QueueRef queue);
  bool has_dirty() const noexcept { return head_ < dirty_.size(); }
  /// The oldest marked queue, taken off the list (it may have closed since:
  /// the caller checks the serial). nullopt when none is left.
  std::optional<QueueRef> next();
  /// Frees the space of taken entries; call once per turn.
  void compact();

  /// Marks made so far: a publisher arriving now waits for this many to be taken.
  std::uint64_t marks_made() const noexcept { return marks_made_; }
  std::uint64_t marks_taken() const noexcept { return marks_taken_; }

  /// Answers `reply` with `result` once `after_marks` marks have been taken
  /// and the other loops have written through publication `after_remote`
  /// (RemoteBacklog; 0: nothing to wait for there), at once when both hold.
  void answer_after(std::uint64_t after_marks, std::promise<PublishResult>* reply, PublishResult result,
                    std::uint64_t after_remote = 0);
  /// The same for a publisher the loop answers itself (a POST it serves).
  using Reply = std::function<void(PublishResult)>;
  void answer_after(std::uint64_t after_marks, Reply reply, PublishResult result, std::uint64_t after_remote = 0);
  /// The other loops have written the backlog ahead of every publication up
  /// to `through` (RemoteBacklog::written_through); answer_publishers() next.
  void remote_written(std::uint64_t through) noexcept {
    if (through > remote_written_) remote_written_ = through;
  }
  /// Answers every publisher whose backlog has been written (all of them
  /// with `all`, when the loop stops). Returns how many.
  std::size_t answer_publishers(bool all = false);
  std::size_t waiting_publishers() const noexcept { return waiting_.size(); }

 private:
  std::vector<QueueRef> dirty_; // oldest first
  std::size_t head_ = 0;        // dirty_[head_] is taken next
  std::uint64_t marks_made_ = 0;
  std::uint64_t marks_taken_ = 0;
  std::uint64_t remote_written_ = 0;
  bool ready(std::uint64_t after_marks, std::uint64_t after_remote) const noexcept {
    return marks_taken_ >= after_marks && remote_written_ >= after_remote;
  }
  struct WaitingPublisher {
    std::uint64_t after_marks;
    std::uint64_t after_remote;
    Reply reply;
    PublishResult result;
  };
  std::vector<WaitingPublisher> waiting_; // in order of after_marks and of after_remote
};

}  // namespace es
