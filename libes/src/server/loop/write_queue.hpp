// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// A subscriber's unsent bytes: shared, immutable buffers (one per event,
// shared with every other subscriber of the token) and how far into the
// first one the kernel has taken. Fan-out appends a pointer, never bytes.
//
// The caller bounds it (redis' client-output-buffer-limit): unsent_bytes()
// over the limit means the subscriber cannot keep up and is cut off.

#include <es/serializer.hpp>

#include <cstddef>
#include <span>
#include <vector>

#include <sys/uio.h>

namespace es {

class WriteQueue {
 public:
  /// Appends `bytes`; `is_event` marks what counts as a delivered event
  /// once fully written (keepalive comments and response heads do not).
  void push(SharedBytes bytes, bool is_event);

  bool empty() const noexcept { return head_ == items_.size(); }
  std::size_t unsent_bytes() const noexcept { return unsent_; }

  /// Fills `out` with the unsent pieces, oldest first; returns how many.
  std::size_t gather(std::span<iovec> out) const noexcept;
  /// Drops `bytes` written by the kernel; returns how many events were
  /// thereby written completely.
  std::size_t consume(std::size_t bytes) noexcept;
  /// Drops what the kernel has not begun to take, keeping a partly written
  /// piece: room for a last message (a WebSocket close frame).
  void drop_unstarted() noexcept;
  /// Drops everything (the connection is gone).
  void clear() noexcept;

 private:
  struct Item {
    SharedBytes bytes;
    bool is_event;
  };
  std::vector<Item> items_;
  std::size_t head_ = 0;   // first item not yet fully written
  std::size_t offset_ = 0; // bytes of items_[head_] already written
  std::size_t unsent_ = 0;
};

}  // namespace es
