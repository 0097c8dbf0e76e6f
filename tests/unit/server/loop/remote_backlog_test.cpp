// SPDX-License-Identifier: GPL-3.0-or-later
// The home loop's view of the other loops' backlog: which publications
// every loop has written the backlog ahead of.
#include "server/loop/remote_backlog.hpp"

#include <doctest/doctest.h>

TEST_CASE("remote backlog: written through the oldest publication a loop has not acknowledged") {
  es::RemoteBacklog b(3);
  CHECK(b.written_through() == 0);
  CHECK(b.sent(1) == 1);
  CHECK(b.sent(2) == 2);
  CHECK(b.sent(1) == 3);
  CHECK(b.last_sent() == 3);
  CHECK(b.written_through() == 0); // nothing acknowledged

  b.written(1, 1); // loop 1: its first (number 1)
  CHECK(b.written_through() == 1);
  b.written(1, 2); // loop 1: both; loop 2 still owes number 2
  CHECK(b.written_through() == 1);
  b.written(2, 1);
  CHECK(b.written_through() == 3);

  CHECK(b.sent(2) == 4);
  CHECK(b.written_through() == 3);
  b.written(2, 2);
  CHECK(b.written_through() == 4);
}

TEST_CASE("remote backlog: a stale or excessive acknowledgement changes nothing it should not") {
  es::RemoteBacklog b(2);
  b.sent(1);
  b.sent(1);
  b.written(1, 2);
  b.written(1, 1); // older: ignored
  CHECK(b.written_through() == 2);
  b.sent(1);
  b.written(1, 99); // more than was sent: only what was sent
  CHECK(b.written_through() == 3);
  CHECK(b.sent(1) == 4);
  CHECK(b.written_through() == 3);
}
