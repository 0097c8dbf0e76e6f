// SPDX-License-Identifier: GPL-3.0-or-later
#include "loop_inbox.hpp"

#include <cerrno>
#include <cstdint>
#include <system_error>

#include <sys/eventfd.h>
#include <unistd.h>

namespace es {

LoopInbox::LoopInbox() {
  fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
}

LoopInbox::~LoopInbox() { ::close(fd_); }

bool LoopInbox::push(LoopCommand command) {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return false;
    wake = commands_.empty();
    commands_.push_back(std::move(command));
  }
  if (wake) {
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(fd_, &one, sizeof one);
  }
  return true;
}

void LoopInbox::take(std::vector<LoopCommand>& into) {
  into.clear();
  std::uint64_t count = 0;
  [[maybe_unused]] auto n = ::read(fd_, &count, sizeof count);
  std::lock_guard lock(mutex_);
  into.swap(commands_);
}

std::vector<LoopCommand> LoopInbox::close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  return std::move(commands_);
}

}  // namespace es
