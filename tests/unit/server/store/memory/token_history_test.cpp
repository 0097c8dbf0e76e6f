// SPDX-License-Identifier: GPL-3.0-or-later
#include "server/store/memory/token_history.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <deque>
#include <memory>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

namespace {

using namespace std::chrono_literals;
using HubClock = es::HistoryClock;

/// Time points are passed in: tests count from an arbitrary start.
const HubClock::time_point t0 = HubClock::time_point(1000s);

es::PublicationPtr stored(const std::string& id, HubClock::time_point at) {
  auto p = std::make_shared<es::Publication>();
  p->id = id;
  p->at = at;
  p->frames[0] = std::make_shared<const std::string>("id: " + id + "\ndata: " + id + "\n\n");
  return p;
}

/// A replay's ids, for readable comparisons.
std::vector<std::string> ids_of(const es::Replay& replay) {
  std::vector<std::string> ids;
  for (const auto& p : replay.events) ids.push_back(p->id);
  return ids;
}

es::HistoryLimits history(std::size_t max_events, std::chrono::milliseconds max_age = 0ms) {
  es::HistoryLimits limits;
  limits.max_events = max_events;
  limits.max_age = max_age;
  return limits;
}

}  // namespace

TEST_CASE("token history: an unknown token has no followers and no history") {
  es::TokenHistory hub;
  CHECK(hub.followers("nobody") == 0);
  CHECK(hub.history_size("nobody") == 0);
  CHECK(hub.token_count() == 0);
}

TEST_CASE("token history: the last follower leaving frees the token when history is off") {
  es::TokenHistory hub;
  hub.follow("t");
  hub.follow("t");
  hub.record("t", stored("5", t0));
  CHECK(hub.unfollow("t"));
  CHECK(hub.token_count() == 1);
  CHECK(hub.unfollow("t"));
  CHECK(hub.token_count() == 0);
  // Its latest id went with it: a client resuming from it is told of a gap.
  CHECK(hub.events_after("t", "5", t0).gap);
}

TEST_CASE("token history: with history off, record keeps only the latest id and never creates a token") {
  es::TokenHistory hub;
  CHECK_FALSE(hub.keeps_history());
  hub.record("nobody", stored("1", t0));
  CHECK(hub.token_count() == 0);
  CHECK(hub.events_after("nobody", "1", t0).gap);

  hub.follow("t");
  hub.record("t", stored("2", t0));
  hub.record("t", stored("3", t0));
  CHECK(hub.history_size("t") == 0);
  CHECK(hub.latest("t", t0) == nullptr);
  const es::Replay up_to_date = hub.events_after("t", "3", t0);
  CHECK_FALSE(up_to_date.gap);
  CHECK(up_to_date.events.empty());
  const es::Replay behind = hub.events_after("t", "2", t0);
  CHECK(behind.gap);
  CHECK(behind.events.empty());
}

TEST_CASE("token history: with history on, record creates the token and keeps it without followers") {
  es::TokenHistory hub(history(4));
  CHECK(hub.keeps_history());
  hub.record("t", stored("1", t0));
  CHECK(hub.token_count() == 1);
  CHECK(hub.history_size("t") == 1);
  hub.follow("t");
  CHECK(hub.unfollow("t"));
  CHECK(hub.token_count() == 1);
  CHECK(ids_of(hub.events_after("t", "0", t0)) == std::vector<std::string>{"1"});
}

TEST_CASE("token history: history keeps the newest max_events events, in order") {
  es::TokenHistory hub(history(3));
  for (int i = 1; i <= 5; ++i) hub.record("t", stored(std::to_string(i), t0 + std::chrono::seconds(i)));
  CHECK(hub.history_size("t") == 3);
  const es::Replay all = hub.events_after("t", "1", t0 + 10s);
  CHECK(all.gap); // 2 fell out: the client missed it
  CHECK(ids_of(all) == std::vector<std::string>{"3", "4", "5"});
  CHECK(ids_of(hub.events_after("t", "3", t0 + 10s)) == std::vector<std::string>{"4", "5"});
  CHECK_FALSE(hub.events_after("t", "3", t0 + 10s).gap);
  REQUIRE(hub.latest("t", t0 + 10s) != nullptr);
  CHECK(hub.latest("t", t0 + 10s)->id == "5");
}

TEST_CASE("token history: replay after a known id sends what followed it, without a gap") {
  es::TokenHistory hub(history(10));
  for (const char* id : {"a", "b", "c", "d"}) hub.record("t", stored(id, t0));
  const es::Replay replay = hub.events_after("t", "b", t0);
  CHECK_FALSE(replay.gap);
  CHECK(ids_of(replay) == std::vector<std::string>{"c", "d"});
}

TEST_CASE("token history: replay after the latest id sends nothing and reports no gap") {
  es::TokenHistory hub(history(10));
  hub.record("t", stored("a", t0));
  hub.record("t", stored("b", t0));
  const es::Replay replay = hub.events_after("t", "b", t0);
  CHECK_FALSE(replay.gap);
  CHECK(replay.events.empty());
}

TEST_CASE("token history: replay after an unknown id reports a gap and sends all history") {
  es::TokenHistory hub(history(10));
  hub.record("t", stored("a", t0));
  hub.record("t", stored("b", t0));
  const es::Replay replay = hub.events_after("t", "from-before-a-restart", t0);
  CHECK(replay.gap);
  CHECK(ids_of(replay) == std::vector<std::string>{"a", "b"});
  const es::Replay unknown_token = hub.events_after("other", "a", t0);
  CHECK(unknown_token.gap);
  CHECK(unknown_token.events.empty());
}

TEST_CASE("token history: an empty last id asks for nothing") {
  es::TokenHistory hub(history(10));
  hub.record("t", stored("a", t0));
  const es::Replay replay = hub.events_after("t", "", t0);
  CHECK_FALSE(replay.gap);
  CHECK(replay.events.empty());
  CHECK_FALSE(hub.events_after("unknown", "", t0).gap);
}

TEST_CASE("token history: a replay shares the stored bytes instead of copying them") {
  es::TokenHistory hub(history(10));
  const es::PublicationPtr a = stored("a", t0);
  hub.record("t", stored("0", t0));
  hub.record("t", a);
  const es::Replay replay = hub.events_after("t", "0", t0);
  REQUIRE(replay.events.size() == 1);
  CHECK(replay.events[0] == a);
}

TEST_CASE("token history: events older than max_age are neither replayed nor latest") {
  es::TokenHistory hub(history(10, 1500ms));
  hub.record("t", stored("1", t0));
  hub.record("t", stored("2", t0 + 1s));
  hub.record("t", stored("3", t0 + 2s));

  // At t0 + 1.5 s all are still young enough (an age equal to max_age is kept).
  CHECK(ids_of(hub.events_after("t", "x", t0 + 1500ms)) == std::vector<std::string>{"1", "2", "3"});
  // At t0 + 2.6 s event 1 and 2 are too old.
  const es::Replay late = hub.events_after("t", "x", t0 + 2600ms);
  CHECK(late.gap);
  CHECK(ids_of(late) == std::vector<std::string>{"3"});
  // An expired id is gone too, even before expire() runs: the client may have missed 2.
  const es::Replay after_expired = hub.events_after("t", "1", t0 + 2600ms);
  CHECK(after_expired.gap);
  CHECK(ids_of(after_expired) == std::vector<std::string>{"3"});
  REQUIRE(hub.latest("t", t0 + 3500ms) != nullptr);
  CHECK(hub.latest("t", t0 + 3500ms)->id == "3");
  CHECK(hub.latest("t", t0 + 3501ms) == nullptr);
}

TEST_CASE("token history: the latest id means up to date even after its event expired") {
  es::TokenHistory hub(history(10, 1s));
  hub.follow("t");
  hub.record("t", stored("1", t0));
  hub.record("t", stored("2", t0));
  const auto later = t0 + 1h;
  CHECK(hub.expire(later) == 0); // kept: it has a follower
  CHECK(hub.history_size("t") == 0);
  const es::Replay up_to_date = hub.events_after("t", "2", later);
  CHECK_FALSE(up_to_date.gap);
  CHECK(up_to_date.events.empty());
  const es::Replay behind = hub.events_after("t", "1", later);
  CHECK(behind.gap);
  CHECK(behind.events.empty());
}

TEST_CASE("token history: expire drops old events and frees tokens left with nothing") {
  es::TokenHistory hub(history(10, 10s));
  hub.record("old", stored("1", t0));
  hub.record("mixed", stored("2", t0));
  hub.record("mixed", stored("3", t0 + 8s));
  hub.record("watched", stored("4", t0));
  hub.follow("watched");

  CHECK(hub.expire(t0 + 10s) == 0);
  CHECK(hub.token_count() == 3);
  CHECK(hub.expire(t0 + 11s) == 1); // "old"
  CHECK(hub.token_count() == 2);
  CHECK(hub.history_size("mixed") == 1);
  CHECK(hub.history_size("watched") == 0);
  CHECK(hub.followers("watched") == 1);
  CHECK(hub.expire(t0 + 19s) == 1); // "mixed"
  CHECK(hub.token_count() == 1);
  // "watched" goes as soon as its follower does: nothing holds it any more.
  CHECK(hub.unfollow("watched"));
  CHECK(hub.token_count() == 0);
}

TEST_CASE("token history: the last follower leaving keeps a token that still has history") {
  es::TokenHistory hub(history(10, 10s));
  hub.follow("t");
  hub.record("t", stored("1", t0));
  CHECK(hub.unfollow("t"));
  CHECK(hub.token_count() == 1);
  CHECK(hub.expire(t0 + 11s) == 1);
  CHECK(hub.token_count() == 0);
}

TEST_CASE("token history: without an age limit expire frees nothing") {
  es::TokenHistory hub(history(2));
  hub.record("t", stored("1", t0));
  CHECK(hub.expire(t0 + 24h * 365) == 0);
  CHECK(hub.history_size("t") == 1);
  es::TokenHistory no_history;
  no_history.follow("t");
  CHECK(no_history.expire(t0 + 1h) == 0);
  CHECK(no_history.token_count() == 1);
}

TEST_CASE("token history: dropped events release their bytes at once") {
  es::TokenHistory hub(history(2, 5s));
  const es::PublicationPtr first = stored("1", t0);
  const es::PublicationPtr second = stored("2", t0 + 10s);
  hub.record("t", first);
  hub.record("u", second);
  CHECK(first.use_count() == 2);
  hub.record("t", stored("3", t0));
  hub.record("t", stored("4", t0)); // pushes "1" out of the ring
  CHECK(first.use_count() == 1);
  CHECK(second.use_count() == 2);
  CHECK(hub.expire(t0 + 16s) == 2); // "t" and "u"
  CHECK(second.use_count() == 1);
}

TEST_CASE("token history: history matches a simple model through wrap-around, trimming and expiry") {
  std::mt19937 random(777);
  const std::size_t max_events = 5;
  const auto max_age = 100ms;
  es::TokenHistory hub(history(max_events, max_age));
  hub.follow("t"); // keeps the token while its history empties
  std::deque<std::pair<std::string, HubClock::time_point>> model;
  auto now = t0;
  for (int step = 0; step < 5'000; ++step) {
    now += std::chrono::milliseconds(random() % 40);
    if (random() % 4 != 0) {
      const std::string id = std::to_string(step);
      hub.record("t", stored(id, now));
      model.emplace_back(id, now);
      if (model.size() > max_events) model.pop_front();
    } else {
      CHECK(hub.expire(now) == 0);
      while (!model.empty() && now - model.front().second > max_age) model.pop_front();
      REQUIRE(hub.history_size("t") == model.size());
    }
    std::vector<std::string> live;
    for (const auto& [id, at] : model) {
      if (now - at <= max_age) live.push_back(id);
    }
    const es::Replay all = hub.events_after("t", "never-sent", now);
    REQUIRE(all.gap);
    REQUIRE(ids_of(all) == live);
    if (!live.empty()) {
      REQUIRE(hub.latest("t", now) != nullptr);
      REQUIRE(hub.latest("t", now)->id == live.back());
      const auto pick = random() % live.size();
      const es::Replay after = hub.events_after("t", live[pick], now);
      REQUIRE_FALSE(after.gap);
      REQUIRE(ids_of(after) == std::vector<std::string>(live.begin() + static_cast<std::ptrdiff_t>(pick) + 1, live.end()));
    } else {
      REQUIRE(hub.latest("t", now) == nullptr);
    }
  }
}

TEST_CASE("token history: a moved history keeps working, and a history cannot be copied") {
  static_assert(!std::is_copy_constructible_v<es::TokenHistory> && !std::is_copy_assignable_v<es::TokenHistory>);
  es::TokenHistory original(history(2));
  original.follow("a-token-name-long-enough-to-be-allocated");
  original.follow("a-token-name-long-enough-to-be-allocated");
  original.record("b", stored("1", t0));
  es::TokenHistory moved(std::move(original));
  CHECK(moved.followers("a-token-name-long-enough-to-be-allocated") == 2);
  CHECK(moved.unfollow("a-token-name-long-enough-to-be-allocated"));
  CHECK(moved.followers("a-token-name-long-enough-to-be-allocated") == 1);
  es::TokenHistory assigned;
  assigned = std::move(moved);
  CHECK(assigned.unfollow("a-token-name-long-enough-to-be-allocated"));
  CHECK(assigned.token_count() == 1);
  CHECK(assigned.history_size("b") == 1);
  CHECK(assigned.limits().max_events == 2);
}

namespace {

std::shared_ptr<es::Publication> sized(const std::string& id, std::size_t data_bytes) {
  auto p = std::make_shared<es::Publication>();
  p->id = id;
  p->at = t0;
  p->frames[0] = std::make_shared<const std::string>(std::string(data_bytes, 'x'));
  return p;
}

}  // namespace

TEST_CASE("token history: the byte budget drops the oldest events of any token first") {
  const std::size_t one = sized("x", 1000)->footprint();
  es::HistoryLimits limits = history(100);
  limits.max_bytes = 3 * one;
  es::TokenHistory hub(limits);
  hub.record("a", sized("1", 1000));
  hub.record("b", sized("2", 1000));
  hub.record("a", sized("3", 1000));
  CHECK(hub.bytes() == 3 * one);
  CHECK(hub.evicted() == 0);
  hub.record("c", sized("4", 1000)); // "1" (token a) is the oldest of all
  CHECK(hub.bytes() == 3 * one);
  CHECK(hub.evicted() == 1);
  CHECK(ids_of(hub.events_after("a", "0", t0)) == std::vector<std::string>{"3"});
  hub.record("c", sized("5", 1000)); // then "2": token b is left with nothing and freed
  CHECK(hub.history_size("b") == 0);
  CHECK(hub.token_count() == 2);
  const es::Replay resumed = hub.events_after("b", "2", t0);
  CHECK(resumed.gap);
}

TEST_CASE("token history: bytes kept follow trimming, expiry and eviction exactly") {
  std::mt19937 random(4242);
  es::HistoryLimits limits = history(4, 50ms);
  limits.max_bytes = 20'000;
  es::TokenHistory hub(limits);
  auto now = t0;
  const std::vector<std::string> tokens = {"a", "b", "c", "d", "e", "f"};
  for (int step = 0; step < 20'000; ++step) {
    now += std::chrono::milliseconds(random() % 3);
    auto p = sized(std::to_string(step), random() % 3000);
    p->at = now;
    hub.record(tokens[random() % tokens.size()], p);
    if (step % 97 == 0) hub.expire(now);
    REQUIRE(hub.bytes() <= limits.max_bytes);
    std::size_t expected = 0;
    for (const auto& t : tokens)
      for (const auto& e : hub.events_after(t, "never-sent", t0).events) expected += e->footprint();
    REQUIRE(hub.bytes() == expected);
  }
  CHECK(hub.evicted() > 0);
}

TEST_CASE("token history: one event larger than the whole budget is not kept at all") {
  es::HistoryLimits limits = history(10);
  limits.max_bytes = 100;
  es::TokenHistory hub(limits);
  hub.record("t", sized("1", 1000));
  CHECK(hub.bytes() == 0);
  CHECK(hub.history_size("t") == 0);
  CHECK(hub.evicted() == 1);
}
