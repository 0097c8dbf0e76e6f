// SPDX-License-Identifier: GPL-3.0-or-later
#include <es/event_id.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>

namespace {

using std::chrono::microseconds;
using std::chrono::system_clock;

std::int64_t as_number(const std::string& id) {
  return std::stoll(id);
}

/// A clock the test moves by hand; shared so the id source can hold a copy.
struct FakeClock {
  std::shared_ptr<system_clock::time_point> now =
      std::make_shared<system_clock::time_point>(microseconds(1'700'000'000'000'000));
  es::TimestampIdSource::Clock reader() const {
    return [now = now] { return *now; };
  }
  void advance(microseconds d) const { *now += d; }
};

}  // namespace

TEST_CASE("event_id: the counter starts at 1 and counts up by one") {
  es::CounterIdSource ids;
  CHECK(ids.next("a") == "1");
  CHECK(ids.next("a") == "2");
  CHECK(ids.next("a") == "3");
}

TEST_CASE("event_id: the counter is one sequence shared by every token") {
  es::CounterIdSource ids;
  CHECK(ids.next("alice") == "1");
  CHECK(ids.next("bob") == "2");
  CHECK(ids.next("alice") == "3");
}

TEST_CASE("event_id: the counter can start elsewhere, e.g. 0 as upstream did") {
  es::CounterIdSource from_zero(0);
  CHECK(from_zero.next("t") == "0");
  CHECK(from_zero.next("t") == "1");

  es::CounterIdSource large(std::numeric_limits<std::uint64_t>::max() - 1);
  CHECK(large.next("t") == "18446744073709551614");
  CHECK(large.next("t") == "18446744073709551615");
}

TEST_CASE("event_id: a timestamp id is the clock in microseconds since the epoch") {
  FakeClock clock;
  es::TimestampIdSource ids(clock.reader());
  CHECK(ids.next("t") == "1700000000000000");
  clock.advance(microseconds(250));
  CHECK(ids.next("t") == "1700000000000250");
}

TEST_CASE("event_id: a timestamp id is bumped by one while the clock stands still") {
  FakeClock clock;
  es::TimestampIdSource ids(clock.reader());
  CHECK(ids.next("a") == "1700000000000000");
  CHECK(ids.next("b") == "1700000000000001");
  CHECK(ids.next("a") == "1700000000000002");
  // The clock catches up with the bumped ids: it is read again as it is.
  clock.advance(microseconds(10));
  CHECK(ids.next("a") == "1700000000000010");
}

TEST_CASE("event_id: a timestamp id still increases when the clock goes back") {
  FakeClock clock;
  es::TimestampIdSource ids(clock.reader());
  CHECK(ids.next("t") == "1700000000000000");
  clock.advance(-microseconds(5'000'000));
  CHECK(ids.next("t") == "1700000000000001");
  CHECK(ids.next("t") == "1700000000000002");
  // Still behind the last id: keep bumping, never reuse.
  clock.advance(microseconds(4'999'999));
  CHECK(ids.next("t") == "1700000000000003");
  clock.advance(microseconds(100));
  CHECK(ids.next("t") == "1700000000000099");
}

TEST_CASE("event_id: the default timestamp source reads the system clock") {
  const auto before = std::chrono::duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
  es::TimestampIdSource ids;
  const std::int64_t first = as_number(ids.next("t"));
  const std::int64_t second = as_number(ids.next("t"));
  const auto after = std::chrono::duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
  CHECK(first >= before);
  CHECK(second > first);
  // `second` may have been bumped past the clock by one.
  CHECK(second <= after + 1);
}

TEST_CASE("event_id: ids from either source always increase over many calls") {
  FakeClock clock;
  es::TimestampIdSource timestamps(clock.reader());
  es::CounterIdSource counter;
  std::int64_t last_timestamp = 0;
  std::int64_t last_count = 0;
  for (int i = 0; i < 10'000; ++i) {
    // A clock that jitters back and forth, as a stepped clock would.
    clock.advance(microseconds(i % 3 == 0 ? -7 : 3));
    const std::int64_t timestamp = as_number(timestamps.next("t"));
    const std::int64_t count = as_number(counter.next("t"));
    REQUIRE(timestamp > last_timestamp);
    REQUIRE(count > last_count);
    last_timestamp = timestamp;
    last_count = count;
  }
}

TEST_CASE("event_id: a source is used through IdSource, as an event kind holds it") {
  std::unique_ptr<es::IdSource> ids = std::make_unique<es::CounterIdSource>(41);
  CHECK(ids->next("t") == "41");
  CHECK(ids->next("t") == "42");
}
