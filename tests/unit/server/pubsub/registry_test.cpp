// SPDX-License-Identifier: GPL-3.0-or-later
#include "server/pubsub/registry.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

std::vector<es::SubscriberId> sorted(std::vector<es::SubscriberId> v) {
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

TEST_CASE("registry: a subscriber is found from its token and its token from it") {
  es::Registry hub;
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

TEST_CASE("registry: subscribing twice is a caller's bug and changes nothing") {
  es::Registry hub;
  hub.subscribe(1, "a");
  CHECK_THROWS_WITH_AS(hub.subscribe(1, "b"), "es::Registry::subscribe: subscriber 1 is already subscribed", std::logic_error);
  CHECK(*hub.token_of(1) == "a");
  CHECK(hub.subscribers("b").empty());
  CHECK(hub.token_count() == 1);
}

TEST_CASE("registry: unsubscribing removes only that subscriber and reports an unknown one") {
  es::Registry hub;
  hub.subscribe(1, "t");
  hub.subscribe(2, "t");
  hub.subscribe(3, "t");
  CHECK(hub.unsubscribe(1).was_subscribed);
  CHECK(sorted(hub.subscribers("t")) == std::vector<es::SubscriberId>{2, 3});
  CHECK(hub.token_of(1) == nullptr);
  CHECK_FALSE(hub.unsubscribe(1).was_subscribed);
  CHECK_FALSE(hub.unsubscribe(99).was_subscribed);
  // The subscriber moved into 1's place must still be removable.
  CHECK(hub.unsubscribe(3).was_subscribed);
  CHECK(hub.subscribers("t") == std::vector<es::SubscriberId>{2});
  CHECK(hub.subscriber_count() == 1);
}

TEST_CASE("registry: a subscriber can move to another token after leaving") {
  es::Registry hub;
  hub.subscribe(1, "a");
  CHECK(hub.unsubscribe(1).was_subscribed);
  hub.subscribe(1, "b");
  CHECK(*hub.token_of(1) == "b");
  CHECK(hub.subscribers("a").empty());
  CHECK(hub.token_count() == 1);
}

TEST_CASE("registry: the subscriber index matches a simple model after many random operations") {
  std::mt19937 random(12345);
  const std::vector<std::string> tokens = {"a", "b", "c", "a-token-name-long-enough-to-be-allocated", "e"};
  {
    es::Registry hub;
    std::map<std::string, std::set<es::SubscriberId>> model;
    std::map<es::SubscriberId, std::string> model_token_of;
    for (int step = 0; step < 20'000; ++step) {
      const auto subscriber = static_cast<es::SubscriberId>(random() % 200);
      const std::string& token = tokens[random() % tokens.size()];
      const auto roll = random() % 9;
      if (roll < 5) {
        if (model_token_of.contains(subscriber)) {
          CHECK_THROWS_AS(hub.subscribe(subscriber, token), std::logic_error);
        } else {
          hub.subscribe(subscriber, token);
          model[token].insert(subscriber);
          model_token_of[subscriber] = token;
        }
      } else {
        const bool was_subscribed = model_token_of.contains(subscriber);
        REQUIRE(hub.unsubscribe(subscriber).was_subscribed == was_subscribed);
        if (was_subscribed) {
          auto& members = model[model_token_of[subscriber]];
          members.erase(subscriber);
          if (members.empty()) model.erase(model_token_of[subscriber]);
          model_token_of.erase(subscriber);
        }
      }

      REQUIRE(hub.subscriber_count() == model_token_of.size());
      for (const auto& t : tokens) {
        const auto it = model.find(t);
        const std::vector<es::SubscriberId> expected =
            it == model.end() ? std::vector<es::SubscriberId>{}
                              : std::vector<es::SubscriberId>(it->second.begin(), it->second.end());
        REQUIRE(sorted(hub.subscribers(t)) == expected);
      }
      REQUIRE(hub.token_count() == model.size());
    }
    for (const auto& [subscriber, token] : model_token_of) {
      REQUIRE(hub.token_of(subscriber) != nullptr);
      REQUIRE(*hub.token_of(subscriber) == token);
    }
    // Draining everyone in a random order must find each one where it is.
    std::vector<es::SubscriberId> everyone;
    for (const auto& [subscriber, token] : model_token_of) everyone.push_back(subscriber);
    std::shuffle(everyone.begin(), everyone.end(), random);
    for (const auto subscriber : everyone) REQUIRE(hub.unsubscribe(subscriber).was_subscribed);
    CHECK(hub.subscriber_count() == 0);
    CHECK(hub.token_count() == 0);
  }
}

TEST_CASE("registry: tokens are compared by their whole name") {
  es::Registry hub;
  hub.subscribe(1, "tok");
  hub.subscribe(2, "token");
  hub.subscribe(3, std::string_view("tok\0en", 6));
  CHECK(hub.subscribers("tok") == std::vector<es::SubscriberId>{1});
  CHECK(hub.subscribers("token") == std::vector<es::SubscriberId>{2});
  CHECK(hub.subscribers(std::string_view("tok\0en", 6)) == std::vector<es::SubscriberId>{3});
  CHECK(hub.token_count() == 3);
}


TEST_CASE("registry: subscribe tells the token's first subscriber, unsubscribe its last") {
  es::Registry registry;
  CHECK(registry.subscribe(1, "t"));
  CHECK_FALSE(registry.subscribe(2, "t"));
  const es::Registry::Left first = registry.unsubscribe(1);
  CHECK(first.was_subscribed);
  CHECK_FALSE(first.was_last);
  const es::Registry::Left last = registry.unsubscribe(2);
  CHECK(last.was_last);
  CHECK(last.token == "t");
  CHECK(registry.token_count() == 0);
  CHECK_FALSE(registry.unsubscribe(2).was_subscribed);
}
