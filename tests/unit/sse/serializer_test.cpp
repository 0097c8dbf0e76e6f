// SPDX-License-Identifier: GPL-3.0-or-later
#include <es/serializer.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

using namespace std::string_literals;
using std::chrono::milliseconds;

// Counts heap allocations, to hold the serializer to one per event.
namespace {
std::atomic<long> allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return operator new(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace {

es::Event event(std::string name, std::string data, std::string id = {},
                std::optional<milliseconds> retry = std::nullopt) {
  return {std::move(name), std::move(data), std::move(id), retry};
}

std::string wire(const es::Event& e) {
  es::Result<std::string> bytes = es::serialize(e);
  REQUIRE_MESSAGE(bytes, bytes.error());
  return *bytes;
}

}  // namespace

TEST_CASE("serializer: fields are written in the order id, retry, event, data, each ending in LF") {
  CHECK(wire(event("ping", "hi", "7", milliseconds{1500})) ==
        "id: 7\nretry: 1500\nevent: ping\ndata: hi\n\n");
}

TEST_CASE("serializer: a message without a name has no event line") {
  CHECK(wire(event("", "hello")) == "data: hello\n\n");
}

TEST_CASE("serializer: data is split on CRLF, LF and a lone CR, one data line each") {
  CHECK(wire(event("", "a\r\nb\nc\rd")) == "data: a\ndata: b\ndata: c\ndata: d\n\n");
  // "\n\r" is two line ends, "\r\n" one.
  CHECK(wire(event("", "a\n\rb")) == "data: a\ndata: \ndata: b\n\n");
  CHECK(wire(event("", "a\r\r\nb")) == "data: a\ndata: \ndata: b\n\n");
}

TEST_CASE("serializer: leading, trailing and repeated line breaks become empty data lines") {
  CHECK(wire(event("", "\na\n")) == "data: \ndata: a\ndata: \n\n");
  CHECK(wire(event("", "\r\n\r\n")) == "data: \ndata: \ndata: \n\n");
  CHECK(wire(event("", "\r")) == "data: \ndata: \n\n");
}

TEST_CASE("serializer: data starting with a space keeps it after the one separator space") {
  CHECK(wire(event("", " x\n  y")) == "data:  x\ndata:   y\n\n");
  CHECK(wire(event(" n", "d", " 1")) == "id:  1\nevent:  n\ndata: d\n\n");
}

TEST_CASE("serializer: data may hold NUL, colons and UTF-8") {
  CHECK(wire(event("", "a\0b: \xC3\xA9"s)) == "data: a\0b: \xC3\xA9\n\n"s);
}

TEST_CASE("serializer: a named event with empty data gets one empty data line") {
  // WHATWG dispatches "data: \n\n" as an event with empty data; without a
  // data line the client would dispatch nothing and the event would be lost.
  CHECK(wire(event("ping", "")) == "event: ping\ndata: \n\n");
}

TEST_CASE("serializer: id-only and retry-only messages have no data line") {
  CHECK(wire(event("", "", "5")) == "id: 5\n\n");
  CHECK(wire(event("", "", "", milliseconds{10000})) == "retry: 10000\n\n");
  CHECK(wire(event("", "", "", milliseconds{0})) == "retry: 0\n\n");
  CHECK(wire(event("", "", "5", milliseconds{10})) == "id: 5\nretry: 10\n\n");
}

TEST_CASE("serializer: an empty event is a lone blank line") {
  CHECK(wire({}) == "\n");
}

TEST_CASE("serializer: a name with CR or LF is refused") {
  for (const char* name : {"a\nb", "a\rb", "\n", "ab\r\n"}) {
    INFO(name);
    const es::Event e = event(name, "x");
    CHECK(es::invalid_event_reason(e) == "event name contains a line break (CR or LF)");
    const es::Result<std::string> bytes = es::serialize(e);
    CHECK_FALSE(bytes);
    CHECK(bytes.error() == "event name contains a line break (CR or LF)");
  }
}

TEST_CASE("serializer: an id with CR or LF is refused") {
  for (const char* id : {"1\n", "\r2", "3\r\n4"}) {
    INFO(id);
    const es::Event e = event("", "x", id);
    const es::Result<std::string> bytes = es::serialize(e);
    CHECK_FALSE(bytes);
    CHECK(bytes.error() == "event id contains a line break (CR or LF)");
  }
}

TEST_CASE("serializer: an id with NUL is refused") {
  const es::Result<std::string> bytes = es::serialize(event("", "x", "1\0002"s));
  CHECK_FALSE(bytes);
  CHECK(bytes.error() == "event id contains NUL, which clients ignore");
}

TEST_CASE("serializer: a negative retry is refused") {
  const es::Result<std::string> bytes = es::serialize(event("", "x", "", milliseconds{-1}));
  CHECK_FALSE(bytes);
  CHECK(bytes.error() == "retry is negative");
}

TEST_CASE("serializer: a valid event has no invalid reason") {
  CHECK(es::invalid_event_reason(event("a b:c\0"s, "\r\n", "x: y", milliseconds{0})).empty());
}

TEST_CASE("serializer: serialize_shared holds the same bytes, or the same failure") {
  const es::Event e = event("n", "a\nb", "1");
  const es::Result<es::SharedBytes> shared = es::serialize_shared(e);
  REQUIRE(shared);
  REQUIRE(shared.value() != nullptr);
  CHECK(*shared.value() == wire(e));
  const es::Result<es::SharedBytes> refused = es::serialize_shared(event("a\nb", ""));
  CHECK_FALSE(refused);
  CHECK(refused.error() == "event name contains a line break (CR or LF)");
}

TEST_CASE("serializer: an event is written with one allocation of its exact size") {
  const es::Event e =
      event("update", std::string(1000, 'x') + "\r\n" + std::string(1000, 'y') + "\r\rz", "12345", milliseconds{3000});
  const long before = allocations.load();
  es::Result<std::string> bytes = es::serialize(e);
  const long used = allocations.load() - before;
  REQUIRE(bytes);
  CHECK(used == 1);
  CHECK(bytes.value().capacity() == bytes.value().size());
}

TEST_CASE("serializer: a comment is one colon line per line, then a blank line") {
  CHECK(es::serialize_comment("keepalive 1700000000") == ": keepalive 1700000000\n\n");
  CHECK(es::serialize_comment("a\r\nb\rc\nd") == ": a\n: b\n: c\n: d\n\n");
  CHECK(es::serialize_comment("") == ": \n\n");
  // Regression (issue 15): an empty view may have a null data(), which
  // memchr() must not be given.
  CHECK(es::serialize_comment(std::string_view{}) == ": \n\n");
}
