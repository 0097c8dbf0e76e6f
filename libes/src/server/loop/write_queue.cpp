// SPDX-License-Identifier: GPL-3.0-or-later
#include "server/loop/write_queue.hpp"

#include <utility>

namespace es {

void WriteQueue::push(SharedBytes bytes, bool is_event) {
  if (!bytes || bytes->empty()) return;
  unsent_ += bytes->size();
  items_.push_back({std::move(bytes), is_event});
}

std::size_t WriteQueue::gather(std::span<iovec> out) const noexcept {
  std::size_t n = 0;
  for (std::size_t i = head_; i < items_.size() && n < out.size(); ++i, ++n) {
    const std::string& s = *items_[i].bytes;
    std::size_t skip = i == head_ ? offset_ : 0;
    out[n].iov_base = const_cast<char*>(s.data() + skip);
    out[n].iov_len = s.size() - skip;
  }
  return n;
}

std::size_t WriteQueue::consume(std::size_t bytes) noexcept {
  std::size_t events = 0;
  unsent_ -= bytes;
  while (bytes > 0 && head_ < items_.size()) {
    Item& item = items_[head_];
    std::size_t left = item.bytes->size() - offset_;
    if (bytes < left) {
      offset_ += bytes;
      break;
    }
    bytes -= left;
    if (item.is_event) ++events;
    item.bytes.reset(); // the last subscriber to write an event frees it
    ++head_;
    offset_ = 0;
  }
  if (head_ == items_.size()) {
    items_.clear(); // keeps the capacity: a steady subscriber allocates nothing
    head_ = 0;
  } else if (head_ >= 64 && head_ * 2 >= items_.size()) {
    items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
  return events;
}

void WriteQueue::drop_unstarted() noexcept {
  // Keep a piece the kernel has begun to take: cutting it would corrupt the stream.
  const std::size_t keep = head_ + (offset_ > 0 && head_ < items_.size() ? 1 : 0);
  for (std::size_t i = keep; i < items_.size(); ++i) unsent_ -= items_[i].bytes->size();
  items_.resize(keep);
  if (head_ == items_.size()) {
    items_.clear();
    head_ = 0;
  }
}

void WriteQueue::clear() noexcept {
  items_.clear();
  head_ = 0;
  offset_ = 0;
  unsent_ = 0;
}

}  // namespace es
