// SPDX-License-Identifier: GPL-3.0-or-later
// The fan-out's scheduling and backpressure without sockets: which queues
// are written in which order, and when a publisher hears back.
#include "server/loop/fanout_scheduler.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <deque>
#include <future>
#include <stdexcept>
#include <vector>

namespace {

using namespace std::chrono_literals;

bool answered(std::future<es::PublishResult>& f) { return f.wait_for(0s) == std::future_status::ready; }

/// Takes up to `budget` queues, as one loop turn does.
std::vector<es::QueueRef> take(es::FanoutScheduler& s, std::size_t budget) {
  std::vector<es::QueueRef> taken;
  while (taken.size() < budget)
    if (auto q = s.next())
      taken.push_back(*q);
    else
      break;
  s.compact();
  return taken;
}

}  // namespace

TEST_CASE("fanout scheduler: queues are taken oldest mark first, a slice at a time") {
  es::FanoutScheduler s;
  for (int fd = 0; fd < 5; ++fd) s.mark({fd, 100u + static_cast<unsigned>(fd)});
  CHECK(s.has_dirty());
  CHECK(take(s, 2) == std::vector<es::QueueRef>{{0, 100}, {1, 101}});
  // A queue written and marked again goes behind those still waiting.
  s.mark({0, 100});
  CHECK(take(s, 10) == std::vector<es::QueueRef>{{2, 102}, {3, 103}, {4, 104}, {0, 100}});
  CHECK_FALSE(s.has_dirty());
  CHECK_FALSE(s.next().has_value());
}

TEST_CASE("fanout scheduler: a publisher with nothing ahead of it is answered at once") {
  es::FanoutScheduler s;
  std::promise<es::PublishResult> reply;
  auto f = reply.get_future();
  es::PublishResult r;
  r.id = "7";
  s.answer_after(s.marks_made(), &reply, r);
  REQUIRE(answered(f));
  CHECK(f.get().id == "7");
}

TEST_CASE("fanout scheduler: a publisher waits until every queue marked before its event is written") {
  es::FanoutScheduler s;
  for (int fd = 0; fd < 300; ++fd) s.mark({fd, 1});
  std::promise<es::PublishResult> reply;
  auto f = reply.get_future();
  s.answer_after(s.marks_made(), &reply, {});
  // Its own event's marks, made after it arrived, are not waited for.
  for (int fd = 300; fd < 600; ++fd) s.mark({fd, 1});

  take(s, 128);
  CHECK(s.answer_publishers() == 0);
  take(s, 128);
  CHECK(s.answer_publishers() == 0);
  CHECK_FALSE(answered(f));
  take(s, 44); // 300 taken: the backlog ahead of it is written
  CHECK(s.answer_publishers() == 1);
  CHECK(answered(f));
  CHECK(s.has_dirty());
}

TEST_CASE("fanout scheduler: publishers are answered in the order they arrived") {
  es::FanoutScheduler s;
  std::vector<std::promise<es::PublishResult>> replies(3);
  std::vector<std::future<es::PublishResult>> futures;
  for (auto& r : replies) futures.push_back(r.get_future());
  for (std::size_t i = 0; i < replies.size(); ++i) {
    for (int k = 0; k < 10; ++k) s.mark({k, i});
    es::PublishResult result;
    result.id = std::to_string(i);
    s.answer_after(s.marks_made(), &replies[i], result);
  }
  take(s, 10);
  CHECK(s.answer_publishers() == 1);
  CHECK(answered(futures[0]));
  CHECK_FALSE(answered(futures[1]));
  take(s, 20);
  CHECK(s.answer_publishers() == 2);
  for (std::size_t i = 0; i < futures.size(); ++i) CHECK(futures[i].get().id == std::to_string(i));
}

TEST_CASE("fanout scheduler: stopping answers every waiting publisher") {
  es::FanoutScheduler s;
  for (int fd = 0; fd < 10; ++fd) s.mark({fd, 1});
  std::promise<es::PublishResult> a, b;
  auto fa = a.get_future(), fb = b.get_future();
  s.answer_after(5, &a, {});
  s.answer_after(s.marks_made(), &b, {});
  CHECK(s.waiting_publishers() == 2);
  CHECK(s.answer_publishers(/*all=*/true) == 2);
  CHECK(answered(fa));
  CHECK(answered(fb));
  CHECK(s.waiting_publishers() == 0);
}

TEST_CASE("fanout scheduler: a long backlog is compacted as it is taken, and nothing is lost") {
  es::FanoutScheduler s;
  std::deque<es::QueueRef> model;
  int next_fd = 0;
  for (; next_fd < 20'000; ++next_fd) {
    s.mark({next_fd, 1});
    model.push_back({next_fd, 1});
  }
  std::size_t turns = 0;
  while (s.has_dirty()) {
    for (const es::QueueRef& q : take(s, 128)) {
      REQUIRE(q == model.front());
      model.pop_front();
    }
    if (++turns % 8 == 0 && next_fd < 22'000) { // marks arriving meanwhile go to the back
      s.mark({next_fd, 2});
      model.push_back({next_fd++, 2});
    }
  }
  CHECK(model.empty());
  CHECK(s.marks_taken() == s.marks_made());
}

TEST_CASE("fanout scheduler: a publisher also waits for the other loops' backlog (remote_written)") {
  es::FanoutScheduler s;
  std::promise<es::PublishResult> reply;
  auto f = reply.get_future();
  s.answer_after(s.marks_made(), &reply, {}, /*after_remote=*/3); // nothing ahead here, 3 publications elsewhere
  CHECK_FALSE(answered(f));
  s.remote_written(2);
  CHECK(s.answer_publishers() == 0);
  s.remote_written(1); // an older figure changes nothing
  s.remote_written(3);
  CHECK(s.answer_publishers() == 1);
  CHECK(answered(f));

  std::promise<es::PublishResult> later;
  auto g = later.get_future();
  s.answer_after(s.marks_made(), &later, {}, 3); // already written through 3: at once
  CHECK(answered(g));
}

TEST_CASE("fanout scheduler: a reply that throws leaves the publishers after it waiting, not forgotten") {
  es::FanoutScheduler s;
  int answered = 0;
  s.answer_after(1, [&](es::PublishResult) { ++answered; }, {});
  s.answer_after(1, [](es::PublishResult) { throw std::runtime_error("reply failed"); }, {});
  s.answer_after(1, [&](es::PublishResult) { ++answered; }, {});
  s.answer_after(1, [&](es::PublishResult) { ++answered; }, {});
  s.mark({1, 1});
  take(s, 1);
  CHECK_THROWS_AS(s.answer_publishers(), std::runtime_error);
  CHECK(answered == 1);
  CHECK(s.waiting_publishers() == 2);
  CHECK(s.answer_publishers() == 2);
  CHECK(answered == 3);
}
