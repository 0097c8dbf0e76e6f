// SPDX-License-Identifier: GPL-3.0-or-later
#include <es/hub.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace {

using namespace std::chrono_literals;
using es::HubClock;

/// Time points are passed in: tests count from an arbitrary start.
const HubClock::time_point t0 = HubClock::time_point(1000s);

es::StoredEvent stored(const std::string& id, HubClock::time_point at) {
  return {id, std::make_shared<const std::string>("id: " + id + "\ndata: " + id + "\n\n"), at};
}

/// The wire bytes of a replay, as ids, for readable comparisons.
std::vector<std::string> ids_of(const es::Replay& replay) {
  std::vector<std::string> ids;
  for (const auto& bytes : replay.events) {
    const auto end = bytes->find('\n');
    ids.push_back(bytes->substr(4, end - 4));
  }
  return ids;
}

std::vector<es::SubscriberId> sorted(std::vector<es::SubscriberId> v) {
  std::sort(v.begin(), v.end());
  return v;
}

es::HistoryLimits history(std::size_t max_events, std::chrono::milliseconds max_age = 0ms) {
  es::HistoryLimits limits;
  limits.max_events = max_events;
  limits.max_age = max_age;
  return limits;
}

}  // namespace

TEST_CASE("hub: a subscriber is found from its token and its token from it") {
  es::Hub hub;
  hub.subscribe(7, "alice");
  hub.subscribe(8, "alice");
  hub.subscribe(9, "bob");
  CHECK(sorted(hub.subscribers("alice")) == std::vector<es::SubscriberId>{7, 8});
  CHECK(hub.subscribers("bob") == std::vector<es::SubscriberId>{9});
  REQUIRE(hub.token_of(7) != nullptr);
  CHECK(*hub.token_of(7) == "alice");
  CHECK(*hub.token_of(9) == "bob");
  CHECK(hub.token_of(10) == nullptr);
  CHECK(hub.subscriber_count() == 3);
  CHECK(hub.subscriber_count("alice") == 2);
  CHECK(hub.token_count() == 2);
}

TEST_CASE("hub: an unknown token has no subscribers") {
  es::Hub hub;
  CHECK(hub.subscribers("nobody").empty());
  CHECK(hub.subscriber_count("nobody") == 0);
  CHECK(hub.history_size("nobody") == 0);
  CHECK(hub.token_count() == 0);
}

TEST_CASE("hub: subscribing twice is a caller's bug and changes nothing") {
  es::Hub hub;
  hub.subscribe(1, "a");
  CHECK_THROWS_WITH_AS(hub.subscribe(1, "b"), "es::Hub::subscribe: subscriber 1 is already subscribed", std::logic_error);
  CHECK(*hub.token_of(1) == "a");
  CHECK(hub.subscribers("b").empty());
  CHECK(hub.token_count() == 1);
}

TEST_CASE("hub: unsubscribing removes only that subscriber and reports an unknown one") {
  es::Hub hub;
  hub.subscribe(1, "t");
  hub.subscribe(2, "t");
  hub.subscribe(3, "t");
  CHECK(hub.unsubscribe(1));
  CHECK(sorted(hub.subscribers("t")) == std::vector<es::SubscriberId>{2, 3});
  CHECK(hub.token_of(1) == nullptr);
  CHECK_FALSE(hub.unsubscribe(1));
  CHECK_FALSE(hub.unsubscribe(99));
  // The subscriber moved into 1's place must still be removable.
  CHECK(hub.unsubscribe(3));
  CHECK(hub.subscribers("t") == std::vector<es::SubscriberId>{2});
  CHECK(hub.subscriber_count() == 1);
}

TEST_CASE("hub: the last subscriber leaving frees the token when history is off") {
  es::Hub hub;
  hub.subscribe(1, "t");
  hub.subscribe(2, "t");
  hub.record("t", stored("5", t0));
  CHECK(hub.unsubscribe(1));
  CHECK(hub.token_count() == 1);
  CHECK(hub.unsubscribe(2));
  CHECK(hub.token_count() == 0);
  // Its latest id went with it: a client resuming from it is told of a gap.
  CHECK(hub.events_after("t", "5", t0).gap);
}

TEST_CASE("hub: a subscriber can move to another token after leaving") {
  es::Hub hub;
  hub.subscribe(1, "a");
  CHECK(hub.unsubscribe(1));
  hub.subscribe(1, "b");
  CHECK(*hub.token_of(1) == "b");
  CHECK(hub.subscribers("a").empty());
  CHECK(hub.token_count() == 1);
}

TEST_CASE("hub: the subscriber index matches a simple model after many random operations") {
  std::mt19937 random(12345);
  const std::vector<std::string> tokens = {"a", "b", "c", "a-token-name-long-enough-to-be-allocated", "e"};
  for (const std::size_t max_events : {std::size_t{0}, std::size_t{2}}) {
    CAPTURE(max_events);
    es::Hub hub(history(max_events));
    std::map<std::string, std::set<es::SubscriberId>> model;
    std::map<es::SubscriberId, std::string> model_token_of;
    std::set<std::string> recorded; // tokens history keeps alive
    for (int step = 0; step < 20'000; ++step) {
      const auto subscriber = static_cast<es::SubscriberId>(random() % 200);
      const std::string& token = tokens[random() % tokens.size()];
      const auto roll = random() % 10;
      if (roll < 5) {
        if (model_token_of.contains(subscriber)) {
          CHECK_THROWS_AS(hub.subscribe(subscriber, token), std::logic_error);
        } else {
          hub.subscribe(subscriber, token);
          model[token].insert(subscriber);
          model_token_of[subscriber] = token;
        }
      } else if (roll < 9) {
        const bool was_subscribed = model_token_of.contains(subscriber);
        REQUIRE(hub.unsubscribe(subscriber) == was_subscribed);
        if (was_subscribed) {
          auto& members = model[model_token_of[subscriber]];
          members.erase(subscriber);
          if (members.empty()) model.erase(model_token_of[subscriber]);
          model_token_of.erase(subscriber);
        }
      } else {
        hub.record(token, stored(std::to_string(step), t0));
        if (max_events > 0) recorded.insert(token);
      }

      REQUIRE(hub.subscriber_count() == model_token_of.size());
      for (const auto& t : tokens) {
        const auto it = model.find(t);
        const std::vector<es::SubscriberId> expected =
            it == model.end() ? std::vector<es::SubscriberId>{}
                              : std::vector<es::SubscriberId>(it->second.begin(), it->second.end());
        REQUIRE(sorted(hub.subscribers(t)) == expected);
      }
      std::set<std::string> live = recorded;
      for (const auto& [t, members] : model) live.insert(t);
      REQUIRE(hub.token_count() == live.size());
    }
    for (const auto& [subscriber, token] : model_token_of) {
      REQUIRE(hub.token_of(subscriber) != nullptr);
      REQUIRE(*hub.token_of(subscriber) == token);
    }
    // Draining everyone in a random order must find each one where it is.
    std::vector<es::SubscriberId> everyone;
    for (const auto& [subscriber, token] : model_token_of) everyone.push_back(subscriber);
    std::shuffle(everyone.begin(), everyone.end(), random);
    for (const auto subscriber : everyone) REQUIRE(hub.unsubscribe(subscriber));
    CHECK(hub.subscriber_count() == 0);
    CHECK(hub.token_count() == recorded.size());
  }
}

TEST_CASE("hub: with history off, record keeps only the latest id and never creates a token") {
  es::Hub hub;
  CHECK_FALSE(hub.keeps_history());
  hub.record("nobody", stored("1", t0));
  CHECK(hub.token_count() == 0);
  CHECK(hub.events_after("nobody", "1", t0).gap);

  hub.subscribe(1, "t");
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

TEST_CASE("hub: with history on, record creates the token and keeps it without subscribers") {
  es::Hub hub(history(4));
  CHECK(hub.keeps_history());
  hub.record("t", stored("1", t0));
  CHECK(hub.token_count() == 1);
  CHECK(hub.history_size("t") == 1);
  hub.subscribe(1, "t");
  CHECK(hub.unsubscribe(1));
  CHECK(hub.token_count() == 1);
  CHECK(ids_of(hub.events_after("t", "0", t0)) == std::vector<std::string>{"1"});
}

TEST_CASE("hub: history keeps the newest max_events events, in order") {
  es::Hub hub(history(3));
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

TEST_CASE("hub: replay after a known id sends what followed it, without a gap") {
  es::Hub hub(history(10));
  for (const char* id : {"a", "b", "c", "d"}) hub.record("t", stored(id, t0));
  const es::Replay replay = hub.events_after("t", "b", t0);
  CHECK_FALSE(replay.gap);
  CHECK(ids_of(replay) == std::vector<std::string>{"c", "d"});
}

TEST_CASE("hub: replay after the latest id sends nothing and reports no gap") {
  es::Hub hub(history(10));
  hub.record("t", stored("a", t0));
  hub.record("t", stored("b", t0));
  const es::Replay replay = hub.events_after("t", "b", t0);
  CHECK_FALSE(replay.gap);
  CHECK(replay.events.empty());
}

TEST_CASE("hub: replay after an unknown id reports a gap and sends all history") {
  es::Hub hub(history(10));
  hub.record("t", stored("a", t0));
  hub.record("t", stored("b", t0));
  const es::Replay replay = hub.events_after("t", "from-before-a-restart", t0);
  CHECK(replay.gap);
  CHECK(ids_of(replay) == std::vector<std::string>{"a", "b"});
  const es::Replay unknown_token = hub.events_after("other", "a", t0);
  CHECK(unknown_token.gap);
  CHECK(unknown_token.events.empty());
}

TEST_CASE("hub: an empty last id asks for nothing") {
  es::Hub hub(history(10));
  hub.record("t", stored("a", t0));
  const es::Replay replay = hub.events_after("t", "", t0);
  CHECK_FALSE(replay.gap);
  CHECK(replay.events.empty());
  CHECK_FALSE(hub.events_after("unknown", "", t0).gap);
}

TEST_CASE("hub: a replay shares the stored bytes instead of copying them") {
  es::Hub hub(history(10));
  const es::StoredEvent a = stored("a", t0);
  hub.record("t", stored("0", t0));
  hub.record("t", a);
  const es::Replay replay = hub.events_after("t", "0", t0);
  REQUIRE(replay.events.size() == 1);
  CHECK(replay.events[0] == a.bytes);
}

TEST_CASE("hub: events older than max_age are neither replayed nor latest") {
  es::Hub hub(history(10, 1500ms));
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

TEST_CASE("hub: the latest id means up to date even after its event expired") {
  es::Hub hub(history(10, 1s));
  hub.subscribe(1, "t");
  hub.record("t", stored("1", t0));
  hub.record("t", stored("2", t0));
  const auto later = t0 + 1h;
  CHECK(hub.expire(later) == 0); // kept: it has a subscriber
  CHECK(hub.history_size("t") == 0);
  const es::Replay up_to_date = hub.events_after("t", "2", later);
  CHECK_FALSE(up_to_date.gap);
  CHECK(up_to_date.events.empty());
  const es::Replay behind = hub.events_after("t", "1", later);
  CHECK(behind.gap);
  CHECK(behind.events.empty());
}

TEST_CASE("hub: expire drops old events and frees tokens left with nothing") {
  es::Hub hub(history(10, 10s));
  hub.record("old", stored("1", t0));
  hub.record("mixed", stored("2", t0));
  hub.record("mixed", stored("3", t0 + 8s));
  hub.record("watched", stored("4", t0));
  hub.subscribe(1, "watched");

  CHECK(hub.expire(t0 + 10s) == 0);
  CHECK(hub.token_count() == 3);
  CHECK(hub.expire(t0 + 11s) == 1); // "old"
  CHECK(hub.token_count() == 2);
  CHECK(hub.history_size("mixed") == 1);
  CHECK(hub.history_size("watched") == 0);
  CHECK(hub.subscribers("watched") == std::vector<es::SubscriberId>{1});
  CHECK(hub.expire(t0 + 19s) == 1); // "mixed"
  CHECK(hub.token_count() == 1);
  // "watched" goes as soon as its subscriber does: nothing holds it any more.
  CHECK(hub.unsubscribe(1));
  CHECK(hub.token_count() == 0);
}

TEST_CASE("hub: the last subscriber leaving keeps a token that still has history") {
  es::Hub hub(history(10, 10s));
  hub.subscribe(1, "t");
  hub.record("t", stored("1", t0));
  CHECK(hub.unsubscribe(1));
  CHECK(hub.token_count() == 1);
  CHECK(hub.expire(t0 + 11s) == 1);
  CHECK(hub.token_count() == 0);
}

TEST_CASE("hub: without an age limit expire frees nothing") {
  es::Hub hub(history(2));
  hub.record("t", stored("1", t0));
  CHECK(hub.expire(t0 + 24h * 365) == 0);
  CHECK(hub.history_size("t") == 1);
  es::Hub no_history;
  no_history.subscribe(1, "t");
  CHECK(no_history.expire(t0 + 1h) == 0);
  CHECK(no_history.token_count() == 1);
}

TEST_CASE("hub: dropped events release their bytes at once") {
  es::Hub hub(history(2, 5s));
  const es::StoredEvent first = stored("1", t0);
  const es::StoredEvent second = stored("2", t0 + 10s);
  hub.record("t", first);
  hub.record("u", second);
  CHECK(first.bytes.use_count() == 2);
  hub.record("t", stored("3", t0));
  hub.record("t", stored("4", t0)); // pushes "1" out of the ring
  CHECK(first.bytes.use_count() == 1);
  CHECK(second.bytes.use_count() == 2);
  CHECK(hub.expire(t0 + 16s) == 2); // "t" and "u"
  CHECK(second.bytes.use_count() == 1);
}

TEST_CASE("hub: history matches a simple model through wrap-around, trimming and expiry") {
  std::mt19937 random(777);
  const std::size_t max_events = 5;
  const auto max_age = 100ms;
  es::Hub hub(history(max_events, max_age));
  hub.subscribe(1, "t"); // keeps the token while its history empties
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

TEST_CASE("hub: tokens are compared by their whole name") {
  es::Hub hub;
  hub.subscribe(1, "tok");
  hub.subscribe(2, "token");
  hub.subscribe(3, std::string_view("tok\0en", 6));
  CHECK(hub.subscribers("tok") == std::vector<es::SubscriberId>{1});
  CHECK(hub.subscribers("token") == std::vector<es::SubscriberId>{2});
  CHECK(hub.subscribers(std::string_view("tok\0en", 6)) == std::vector<es::SubscriberId>{3});
  CHECK(hub.token_count() == 3);
}

TEST_CASE("hub: a moved hub keeps both indexes working, and a hub cannot be copied") {
  static_assert(!std::is_copy_constructible_v<es::Hub> && !std::is_copy_assignable_v<es::Hub>);
  es::Hub original(history(2));
  original.subscribe(1, "a-token-name-long-enough-to-be-allocated");
  original.subscribe(2, "a-token-name-long-enough-to-be-allocated");
  original.record("b", stored("1", t0));
  es::Hub moved(std::move(original));
  REQUIRE(moved.token_of(2) != nullptr);
  CHECK(*moved.token_of(2) == "a-token-name-long-enough-to-be-allocated");
  CHECK(moved.unsubscribe(1));
  CHECK(moved.subscribers("a-token-name-long-enough-to-be-allocated") == std::vector<es::SubscriberId>{2});
  es::Hub assigned;
  assigned = std::move(moved);
  CHECK(assigned.unsubscribe(2));
  CHECK(assigned.token_count() == 1);
  CHECK(assigned.history_size("b") == 1);
  CHECK(assigned.limits().max_events == 2);
}
