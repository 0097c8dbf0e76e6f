// SPDX-License-Identifier: GPL-3.0-or-later
#include <es/reconnect.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <optional>

using std::chrono::milliseconds;

namespace {
const es::ReconnectPolicy kDefault{};  // 3000 ms, backoff 2, max 60000 ms
}  // namespace

TEST_CASE("reconnect: without a server retry the initial delay is used") {
  CHECK(es::reconnect_delay(kDefault, std::nullopt, 0) == milliseconds{3000});
  CHECK(es::reconnect_delay({.initial = milliseconds{250}}, std::nullopt, 0) == milliseconds{250});
}

TEST_CASE("reconnect: a server retry wins over the initial delay") {
  CHECK(es::reconnect_delay(kDefault, milliseconds{500}, 0) == milliseconds{500});
  CHECK(es::reconnect_delay(kDefault, milliseconds{10000}, 0) == milliseconds{10000});
}

TEST_CASE("reconnect: each failure in a row multiplies the delay by backoff") {
  CHECK(es::reconnect_delay(kDefault, std::nullopt, 1) == milliseconds{6000});
  CHECK(es::reconnect_delay(kDefault, std::nullopt, 2) == milliseconds{12000});
  CHECK(es::reconnect_delay(kDefault, std::nullopt, 4) == milliseconds{48000});
  CHECK(es::reconnect_delay(kDefault, milliseconds{100}, 3) == milliseconds{800});
  CHECK(es::reconnect_delay({.initial = milliseconds{1000}, .backoff = 1.5}, std::nullopt, 2) == milliseconds{2250});
}

TEST_CASE("reconnect: backoff stops at max") {
  CHECK(es::reconnect_delay(kDefault, std::nullopt, 5) == milliseconds{60000});  // 96000 capped
  CHECK(es::reconnect_delay(kDefault, std::nullopt, 100) == milliseconds{60000});
  CHECK(es::reconnect_delay(kDefault, std::nullopt, std::numeric_limits<unsigned>::max()) == milliseconds{60000});
  CHECK(es::reconnect_delay({.initial = milliseconds{1}, .backoff = 1e300, .max = milliseconds{5}}, std::nullopt, 7) ==
        milliseconds{5});
}

TEST_CASE("reconnect: a server retry above max is honoured as it is, and not grown") {
  CHECK(es::reconnect_delay(kDefault, milliseconds{120000}, 0) == milliseconds{120000});
  CHECK(es::reconnect_delay(kDefault, milliseconds{120000}, 3) == milliseconds{120000});
  CHECK(es::reconnect_delay({.initial = milliseconds{90000}}, std::nullopt, 2) == milliseconds{90000});
}

TEST_CASE("reconnect: a backoff of 1 keeps the delay constant") {
  CHECK(es::reconnect_delay({.backoff = 1.0}, std::nullopt, 10) == milliseconds{3000});
}

TEST_CASE("reconnect: a backoff below 1 never shortens the delay") {
  CHECK(es::reconnect_delay({.backoff = 0.5}, std::nullopt, 3) == milliseconds{3000});
  CHECK(es::reconnect_delay({.backoff = 0.0}, std::nullopt, 3) == milliseconds{3000});
  CHECK(es::reconnect_delay({.backoff = std::nan("")}, std::nullopt, 3) == milliseconds{3000});
}

TEST_CASE("reconnect: a server retry of 0 reconnects at once after a stream, never in a tight loop after failures") {
  CHECK(es::reconnect_delay(kDefault, milliseconds{0}, 0) == milliseconds{0});
  CHECK(es::reconnect_delay(kDefault, milliseconds{0}, 1) == milliseconds{200});
  CHECK(es::reconnect_delay(kDefault, milliseconds{0}, 3) == milliseconds{800});
  CHECK(es::reconnect_delay({.failure_floor = milliseconds{0}}, milliseconds{0}, 3) == milliseconds{0});
}

TEST_CASE("reconnect: a negative initial delay counts as 0") {
  CHECK(es::reconnect_delay({.initial = milliseconds{-5}}, std::nullopt, 0) == milliseconds{0});
  CHECK(es::reconnect_delay({.initial = milliseconds{-5}, .failure_floor = milliseconds{0}}, std::nullopt, 2) ==
        milliseconds{0});
}
