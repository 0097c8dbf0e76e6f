// SPDX-License-Identifier: GPL-3.0-or-later
#include "net/poller.hpp"

#include <cerrno>
#include <system_error>

#include <unistd.h>

namespace es {
namespace {

int control(int epoll_fd, int op, int fd, std::uint32_t events, std::uint64_t tag) noexcept {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = tag;
  return ::epoll_ctl(epoll_fd, op, fd, &ev) == 0 ? 0 : errno;
}

}  // namespace

Poller::Poller() {
  fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
}

Poller::~Poller() { ::close(fd_); }

int Poller::add(int fd, std::uint32_t events, std::uint64_t tag) noexcept {
  return control(fd_, EPOLL_CTL_ADD, fd, events, tag);
}

int Poller::modify(int fd, std::uint32_t events, std::uint64_t tag) noexcept {
  return control(fd_, EPOLL_CTL_MOD, fd, events, tag);
}

int Poller::remove(int fd) noexcept { return ::epoll_ctl(fd_, EPOLL_CTL_DEL, fd, nullptr) == 0 ? 0 : errno; }

int Poller::wait(std::span<epoll_event> events, int timeout_ms) noexcept {
  const int n = ::epoll_wait(fd_, events.data(), static_cast<int>(events.size()), timeout_ms);
  if (n < 0 && errno == EINTR) return 0;
  return n;
}

}  // namespace es
