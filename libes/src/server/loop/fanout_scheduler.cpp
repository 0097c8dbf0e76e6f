// SPDX-License-Identifier: GPL-3.0-or-later
#include "server/loop/fanout_scheduler.hpp"

#include <utility>

namespace es {

void FanoutScheduler::mark(QueueRef queue) {
  dirty_.push_back(queue);
  ++marks_made_;
}

std::optional<QueueRef> FanoutScheduler::next() {
  if (!has_dirty()) return std::nullopt;
  ++marks_taken_;
  return dirty_[head_++];
}

void FanoutScheduler::compact() {
  if (!has_dirty()) {
    dirty_.clear();
    head_ = 0;
  } else if (head_ >= 4096 && head_ * 2 >= dirty_.size()) {
    dirty_.erase(dirty_.begin(), dirty_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
}

void FanoutScheduler::answer_after(std::uint64_t after_marks, std::promise<PublishResult>* reply,
                                   PublishResult result, std::uint64_t after_remote) {
  answer_after(
      after_marks, [reply](PublishResult r) { reply->set_value(std::move(r)); }, std::move(result), after_remote);
}

void FanoutScheduler::answer_after(std::uint64_t after_marks, Reply reply, PublishResult result,
                                   std::uint64_t after_remote) {
  if (ready(after_marks, after_remote) && waiting_.empty()) {
    reply(std::move(result));
    return;
  }
  waiting_.push_back({after_marks, after_remote, std::move(reply), std::move(result)});
}

std::size_t FanoutScheduler::answer_publishers(bool all) {
  std::size_t answered = 0;
  // A reply may publish again (a hook) and so append here: take the answered first.
  std::size_t answerable = 0;
  while (answerable < waiting_.size() &&
         (all || ready(waiting_[answerable].after_marks, waiting_[answerable].after_remote)))
    ++answerable;
  if (answerable == 0) return 0;
  std::vector<WaitingPublisher> now(std::make_move_iterator(waiting_.begin()),
                                    std::make_move_iterator(waiting_.begin() + static_cast<std::ptrdiff_t>(answerable)));
  waiting_.erase(waiting_.begin(), waiting_.begin() + static_cast<std::ptrdiff_t>(answerable));
  for (std::size_t i = 0; i < now.size(); ++i) {
    try {
      now[i].reply(std::move(now[i].result));
    } catch (...) {
      // The ones after it are still owed an answer: back in front, in order.
      waiting_.insert(waiting_.begin(), std::make_move_iterator(now.begin() + static_cast<std::ptrdiff_t>(i) + 1),
                      std::make_move_iterator(now.end()));
      throw;
    }
    ++answered;
  }
  return answered;
}

}  // namespace es
