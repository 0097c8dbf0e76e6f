// SPDX-License-Identifier: GPL-3.0-or-later
// The loop's mailbox: a push wakes the loop only while it sleeps, once per
// sleep, and no wake-up is ever lost (the stress case waits on a real epoll
// set as the loop does, with a deadline instead of blocking for ever).
#include "net/mailbox.hpp"

#include <doctest/doctest.h>

#include <sys/epoll.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

namespace {

/// An epoll set watching a mailbox as EventLoop does (edge-triggered).
class Waiter {
 public:
  explicit Waiter(int fd) : epoll_(::epoll_create1(EPOLL_CLOEXEC)) {
    REQUIRE(epoll_ >= 0);
    epoll_event e{};
    e.events = EPOLLIN | EPOLLET;
    REQUIRE(::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &e) == 0);
  }
  ~Waiter() { ::close(epoll_); }
  /// Whether a wake-up came within `timeout_ms`.
  bool woken(int timeout_ms) {
    epoll_event e{};
    return ::epoll_wait(epoll_, &e, 1, timeout_ms) == 1;
  }

 private:
  int epoll_;
};

}  // namespace

TEST_CASE("mailbox: a push wakes a sleeping loop once; a busy loop is not woken") {
  es::Mailbox<int> box;
  Waiter waiter(box.fd());

  CHECK(box.push(1)); // awake: no wake-up, the message waits for the next take
  CHECK_FALSE(waiter.woken(0));
  CHECK_FALSE(box.prepare_to_sleep()); // a message is waiting: do not sleep
  std::vector<int> got;
  box.take(got);
  CHECK(got == std::vector<int>{1});

  REQUIRE(box.prepare_to_sleep());
  CHECK(box.push(2));
  CHECK(box.push(3));
  CHECK(waiter.woken(0));       // the first push woke it
  CHECK_FALSE(waiter.woken(0)); // the second did not write again
  box.woke();
  CHECK(box.push(4)); // awake again: no wake-up
  CHECK_FALSE(waiter.woken(0));
  box.take(got);
  CHECK(got == std::vector<int>{2, 3, 4});

  REQUIRE(box.prepare_to_sleep()); // the next sleep is woken again (edge-triggered, never read)
  CHECK(box.push(5));
  CHECK(waiter.woken(0));
}

TEST_CASE("mailbox: push_all keeps order behind what is queued, with one wake-up") {
  es::Mailbox<int> box;
  Waiter waiter(box.fd());
  REQUIRE(box.prepare_to_sleep());
  CHECK(box.push(1));
  std::vector<int> batch{2, 3};
  CHECK(box.push_all(batch));
  CHECK(batch.empty());
  CHECK(waiter.woken(0));
  CHECK_FALSE(waiter.woken(0));
  box.woke();
  std::vector<int> got;
  box.take(got);
  CHECK(got == std::vector<int>{1, 2, 3});

  std::vector<int> alone{4, 5}; // onto an empty mailbox
  CHECK(box.push_all(alone));
  box.take(got);
  CHECK(got == std::vector<int>{4, 5});
}

TEST_CASE("mailbox: once closed, pushes are refused and a batch is left to its sender") {
  es::Mailbox<int> box;
  CHECK(box.push(1));
  CHECK(box.close() == std::vector<int>{1});
  CHECK_FALSE(box.push(2));
  std::vector<int> batch{3};
  CHECK_FALSE(box.push_all(batch));
  CHECK(batch == std::vector<int>{3});
}

TEST_CASE("mailbox: no wake-up is lost between threads") {
  // A loop that sleeps only when prepare_to_sleep() allows, as EventLoop
  // does, must see every message; a lost wake-up would leave it asleep with
  // messages waiting (its wait then times out and the check fails).
  constexpr int total = 200000;
  es::Mailbox<int> box;
  Waiter waiter(box.fd());
  std::atomic<int> refused{0}; // doctest's checks are not for other threads
  std::vector<std::thread> producers;
  for (int p = 0; p < 2; ++p)
    producers.emplace_back([&box, &refused, p] {
      std::vector<int> batch;
      for (int i = p; i < total; i += 2) {
        if (i % 7 == 0) {
          batch.push_back(i);
          if (batch.size() == 3 && !box.push_all(batch)) ++refused;
        } else if (!box.push(i)) {
          ++refused;
        }
      }
      if (!batch.empty() && !box.push_all(batch)) ++refused;
    });
  std::vector<int> got;
  long long sum = 0;
  int received = 0;
  int missed_wakeups = 0;
  while (received < total) {
    if (box.prepare_to_sleep() && !waiter.woken(5000)) ++missed_wakeups; // asleep 5 s with work pending
    box.woke();
    box.take(got);
    for (int v : got) sum += v;
    received += static_cast<int>(got.size());
    if (missed_wakeups > 0) break;
  }
  for (auto& t : producers) t.join();
  CHECK(refused == 0);
  CHECK(missed_wakeups == 0);
  CHECK(received == total);
  CHECK(sum == static_cast<long long>(total) * (total - 1) / 2);
}
