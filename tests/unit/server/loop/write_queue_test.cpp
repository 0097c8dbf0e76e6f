// SPDX-License-Identifier: GPL-3.0-or-later
#include "server/loop/write_queue.hpp"

#include <doctest/doctest.h>

#include <array>
#include <memory>
#include <string>

namespace {

es::SharedBytes bytes(const std::string& s) { return std::make_shared<const std::string>(s); }

std::string gathered(const es::WriteQueue& q) {
  std::array<iovec, 8> pieces;
  std::string out;
  const std::size_t n = q.gather(pieces);
  for (std::size_t i = 0; i < n; ++i) out.append(static_cast<const char*>(pieces[i].iov_base), pieces[i].iov_len);
  return out;
}

}  // namespace

TEST_CASE("write queue: pieces are gathered oldest first, resuming inside a partly written one") {
  es::WriteQueue q;
  q.push(bytes("head;"), false);
  q.push(bytes("one;"), true);
  q.push(bytes("two;"), true);
  CHECK(q.unsent_bytes() == 13);
  CHECK(gathered(q) == "head;one;two;");
  CHECK(q.consume(7) == 0); // "head;on"
  CHECK(q.unsent_bytes() == 6);
  CHECK(gathered(q) == "e;two;");
  CHECK(q.consume(2) == 1); // "e;" completes event one
  CHECK(q.consume(4) == 1);
  CHECK(q.empty());
  CHECK(q.unsent_bytes() == 0);
}

TEST_CASE("write queue: the buffer is shared, not copied, and released once written") {
  es::WriteQueue a, b;
  auto event = bytes("data: x\n\n");
  a.push(event, true);
  b.push(event, true);
  CHECK(event.use_count() == 3);
  CHECK(a.consume(event->size()) == 1);
  CHECK(event.use_count() == 2);
  b.clear();
  CHECK(event.use_count() == 1);
}

TEST_CASE("write queue: only events count as delivered, keepalives do not") {
  es::WriteQueue q;
  q.push(bytes(": keepalive 1\n\n"), false);
  q.push(bytes("data: 1\n\n"), true);
  CHECK(q.consume(q.unsent_bytes()) == 1);
}

TEST_CASE("write queue: gather fills at most the pieces it is given") {
  es::WriteQueue q;
  for (int i = 0; i < 10; ++i) q.push(bytes(std::to_string(i)), true);
  std::array<iovec, 4> pieces;
  CHECK(q.gather(pieces) == 4);
  CHECK(q.consume(4) == 4);
  CHECK(gathered(q) == "456789");
}

TEST_CASE("write queue: empty buffers are not queued") {
  es::WriteQueue q;
  q.push(bytes(""), true);
  q.push(nullptr, true);
  CHECK(q.empty());
}

TEST_CASE("write queue: a long-lived queue compacts as it is written") {
  es::WriteQueue q;
  std::string expected;
  for (int i = 0; i < 1000; ++i) {
    q.push(bytes("e" + std::to_string(i) + ";"), true);
    if (i % 3 == 0) {
      std::array<iovec, 1> one;
      REQUIRE(q.gather(one) == 1);
      q.consume(one[0].iov_len);
    }
  }
  std::size_t events = 0;
  while (!q.empty()) {
    std::array<iovec, 16> pieces;
    std::size_t n = q.gather(pieces);
    std::size_t total = 0;
    for (std::size_t i = 0; i < n; ++i) total += pieces[i].iov_len;
    events += q.consume(total);
  }
  CHECK(events == 1000 - 334);
}
