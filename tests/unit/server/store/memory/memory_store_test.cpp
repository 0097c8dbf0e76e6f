// SPDX-License-Identifier: GPL-3.0-or-later
// The memory store through the asynchronous store interface.
#include "server/store/memory/memory_store.hpp"

#include "server/subscribers/sse_kind.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace {

using namespace std::chrono_literals;

struct Fixture {
  es::SseKind sse;
  es::Framer framer{{&sse}};
  es::StoreClock::time_point now = es::StoreClock::time_point(1000s);
  es::MemoryStore store;
  explicit Fixture(es::HistoryLimits limits, bool ids = true)
      : store(limits, ids ? std::make_shared<es::CounterIdSource>() : nullptr, framer, [this] { return now; }) {}

  es::PublicationPtr append(std::string_view token, std::string data) {
    es::Event e;
    e.data = std::move(data);
    std::optional<es::PublicationPtr> out;
    store.append(token, e, [&](es::Appended a) { out = a.publication; });
    REQUIRE(out.has_value()); // the memory store completes before it returns
    return *out;
  }
  es::Replay read_after(std::string_view token, std::string_view last_id) {
    std::optional<es::Replay> out;
    store.read_after(token, last_id, [&](es::Replay r) { out = std::move(r); });
    REQUIRE(out.has_value());
    return *out;
  }
};

}  // namespace

TEST_CASE("memory store: appends get increasing ids and positions and are framed once per kind") {
  Fixture f({10, 0ms});
  const es::PublicationPtr a = f.append("t", "one");
  const es::PublicationPtr b = f.append("u", "two");
  CHECK(a->id == "1");
  CHECK(b->id == "2");
  CHECK(a->position < b->position);
  CHECK(*a->framed_for(0) == "id: 1\ndata: one\n\n");
  CHECK(a->at == f.now);
}

TEST_CASE("memory store: a replay returns the stored publications themselves, with the epoch") {
  Fixture f({10, 0ms});
  const es::PublicationPtr a = f.append("t", "one");
  const es::PublicationPtr b = f.append("t", "two");
  const es::Replay replay = f.read_after("t", "1");
  CHECK_FALSE(replay.gap);
  REQUIRE(replay.events.size() == 1);
  CHECK(replay.events[0] == b);
  CHECK(replay.epoch == f.store.epoch());
  CHECK(f.read_after("t", "0").gap);
  (void)a;
}

TEST_CASE("memory store: two stores have different epochs, so a restart is never taken for continuity") {
  Fixture a({10, 0ms}), b({10, 0ms});
  CHECK(a.store.epoch().size() == 16);
  CHECK(a.store.epoch() != b.store.epoch());
}

TEST_CASE("memory store: without history a followed token's latest id still means up to date") {
  Fixture f({0, 0ms});
  CHECK_FALSE(f.store.keeps_history());
  f.store.follow("t");
  f.append("t", "one");
  f.append("t", "two");
  CHECK_FALSE(f.read_after("t", "2").gap);
  CHECK(f.read_after("t", "1").gap);
  f.store.unfollow("t");
  CHECK(f.store.stats().tokens == 0);
  CHECK(f.read_after("t", "2").gap);
}

TEST_CASE("memory store: latest and housekeeping follow the store's clock") {
  Fixture f({10, 1000ms});
  f.append("t", "one");
  es::PublicationPtr latest;
  f.store.latest("t", [&](es::PublicationPtr p) { latest = std::move(p); });
  REQUIRE(latest);
  CHECK(latest->id == "1");
  f.now += 2s;
  f.store.latest("t", [&](es::PublicationPtr p) { latest = std::move(p); });
  CHECK_FALSE(latest);
  CHECK(f.store.stats().tokens == 1);
  f.store.housekeeping();
  CHECK(f.store.stats().tokens == 0);
}

TEST_CASE("memory store: without ids events carry none") {
  Fixture f({0, 0ms}, /*ids=*/false);
  CHECK_FALSE(f.store.assigns_ids());
  CHECK(f.append("t", "x")->id.empty());
}
