// SPDX-License-Identifier: GPL-3.0-or-later
// parse(serialize(e)) == e, for random events and streams of them fed in
// random pieces.
#include "sse/recording_parser.hpp"

#include <es/parser.hpp>
#include <es/serializer.hpp>

#include <doctest/doctest.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using namespace std::string_literals;
using std::chrono::milliseconds;
using es::test::Parsed;
using es::test::RecordingParser;

namespace {

es::Event event(std::string name, std::string data, std::string id = {},
                std::optional<milliseconds> retry = std::nullopt) {
  return {std::move(name), std::move(data), std::move(id), retry};
}

// Feeds `bytes` in pieces of random size: mostly small, now and then large.
Parsed parse_in_random_pieces(std::string_view bytes, std::mt19937& rng) {
  RecordingParser parse;
  std::uniform_int_distribution<int> kind(0, 9);
  std::uniform_int_distribution<std::size_t> small(1, 64);
  std::uniform_int_distribution<std::size_t> large(65, 200000);
  while (!bytes.empty()) {
    const std::size_t n = std::min(bytes.size(), kind(rng) == 0 ? large(rng) : small(rng));
    parse.feed(bytes.substr(0, n));
    bytes.remove_prefix(n);
  }
  return parse.result();
}

Parsed parse_whole(std::string_view bytes, es::ParserLimits limits = {}) {
  RecordingParser parse(limits);
  parse.feed(bytes);
  return parse.result();
}

std::string serialized(const es::Event& e) {
  es::Result<std::string> bytes = es::serialize(e);
  REQUIRE_MESSAGE(bytes, bytes.error());
  return std::move(bytes).value();
}

// WHATWG line ends as a client sees them: CRLF and a lone CR become LF.
std::string with_lf_line_ends(std::string_view data) {
  std::string out;
  for (std::size_t i = 0; i < data.size(); ++i) {
    if (data[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < data.size() && data[i + 1] == '\n') ++i;
    } else {
      out.push_back(data[i]);
    }
  }
  return out;
}

class RandomEvents {
 public:
  explicit RandomEvents(std::uint32_t seed, int long_line_one_in) : rng_(seed), long_line_one_in_(long_line_one_in) {}

  es::Event next() {
    es::Event e;
    if (chance(2)) e.name = text(12, false);
    if (chance(2)) e.id = text(12, false);
    if (chance(5)) e.retry = milliseconds{std::uniform_int_distribution<int>(0, 100000)(rng_)};
    if (!chance(8)) e.data = data();
    return e;
  }
  std::mt19937& rng() { return rng_; }

 private:
  bool chance(int one_in) { return std::uniform_int_distribution<int>(1, one_in)(rng_) == 1; }

  // Words, spaces (leading ones too), colons, tabs and UTF-8 of 2, 3 and 4
  // bytes; NUL in data only (an id may not hold it).
  std::string text(int max_pieces, bool allow_nul) {
    static constexpr std::array<std::string_view, 12> pieces{
        "event", "data", " ", "  ", ":", "\t", "x", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\xE4\xB8\xAD",
        "0"};
    std::uniform_int_distribution<std::size_t> any_piece(0, pieces.size() - 1);
    std::string out;
    const int count = std::uniform_int_distribution<int>(1, max_pieces)(rng_);
    for (int i = 0; i < count; ++i) out += pieces[any_piece(rng_)];
    if (allow_nul && chance(10)) out.push_back('\0');
    return out;
  }

  std::string data() {
    static constexpr std::array<std::string_view, 3> line_ends{"\n", "\r\n", "\r"};
    std::string out;
    const int lines = std::uniform_int_distribution<int>(1, 6)(rng_);
    for (int i = 0; i < lines; ++i) {
      if (i > 0) out += line_ends[std::uniform_int_distribution<std::size_t>(0, 2)(rng_)];
      if (chance(5)) continue;  // an empty line
      if (chance(long_line_one_in_)) {
        out += std::string(65536 + std::uniform_int_distribution<std::size_t>(1, 4096)(rng_), 'L');
      } else {
        out += text(20, true);
      }
    }
    return out;
  }

  std::mt19937 rng_;
  int long_line_one_in_;
};

}  // namespace

TEST_CASE("roundtrip: a random event parses back to itself") {
  RandomEvents random(20240601, 30);
  int dispatched = 0;
  for (int i = 0; i < 2000; ++i) {
    const es::Event e = random.next();
    const std::string bytes = serialized(e);
    Parsed expected;
    if (!e.data.empty() || !e.name.empty()) {
      expected.events.push_back({e.name, with_lf_line_ends(e.data), e.id, std::nullopt});
      ++dispatched;
    }
    if (e.retry) expected.retries.push_back(*e.retry);
    expected.last_event_id = e.id;
    INFO("event ", i, ": ", bytes.substr(0, 200));
    CHECK(parse_whole(bytes) == expected);
    CHECK(parse_in_random_pieces(bytes, random.rng()) == expected);
  }
  CHECK(dispatched > 1500);
}

TEST_CASE("roundtrip: a stream of events in random pieces gives back the same sequence") {
  RandomEvents random(7, 300);
  std::string stream;
  Parsed expected;
  std::string last_id;
  for (int i = 0; i < 5000; ++i) {
    const es::Event e = random.next();
    stream += serialized(e);
    if (i % 100 == 0) stream += es::serialize_comment("keepalive " + std::to_string(i));
    // An event without an id line carries the stream's last id (WHATWG).
    if (!e.id.empty()) last_id = e.id;
    if (!e.data.empty() || !e.name.empty()) expected.events.push_back({e.name, with_lf_line_ends(e.data), last_id, {}});
    if (e.retry) expected.retries.push_back(*e.retry);
    if (i % 100 == 0) expected.comments.push_back(" keepalive " + std::to_string(i));
  }
  expected.last_event_id = last_id;
  REQUIRE(expected.events.size() > 4000);
  CHECK(parse_whole(stream) == expected);
  for (int run = 0; run < 3; ++run) CHECK(parse_in_random_pieces(stream, random.rng()) == expected);
}

TEST_CASE("roundtrip: a short stream survives a split at every byte") {
  RandomEvents random(99, 1000000);
  std::string stream;
  for (int i = 0; i < 12; ++i) stream += serialized(random.next());
  const Parsed whole = parse_whole(stream);
  REQUIRE_FALSE(whole.events.empty());
  for (std::size_t at = 0; at <= stream.size(); ++at) {
    RecordingParser parse;
    parse.feed(std::string_view(stream).substr(0, at));
    parse.feed(std::string_view(stream).substr(at));
    INFO("split at byte ", at);
    CHECK(parse.result() == whole);
  }
}

TEST_CASE("roundtrip: a comment is reported line by line and dispatches nothing") {
  const Parsed p = parse_whole(es::serialize_comment("a\r\nb\rc"));
  CHECK(p.comments == std::vector<std::string>{" a", " b", " c"});
  CHECK(p.events.empty());
}

TEST_CASE("roundtrip: values with leading spaces, colons and NUL survive") {
  const es::Event e = event("  a:b\0"s, " \0 : x\n\n  "s, " :1");
  const Parsed p = parse_whole(serialized(e));
  REQUIRE(p.events.size() == 1);
  CHECK(p.events[0] == e);
}

TEST_CASE("roundtrip: an event at max_event parses, one byte more is an error") {
  const es::ParserLimits limits{.max_line = 1 << 20, .max_event = 100000};
  const es::Event at_limit = event("big", std::string(50000, 'a') + "\n" + std::string(49996, 'b'));
  REQUIRE(at_limit.name.size() + at_limit.data.size() == limits.max_event);
  const Parsed fits = parse_whole(serialized(at_limit), limits);
  CHECK(fits.error == es::ParseError::none);
  CHECK(fits.events == std::vector<es::Event>{at_limit});

  es::Event over = at_limit;
  over.data.push_back('c');
  const Parsed refused = parse_whole(serialized(over), limits);
  CHECK(refused.error == es::ParseError::event_too_large);
  CHECK(refused.events.empty());
}

TEST_CASE("roundtrip: a data line at max_line parses, one byte more is an error") {
  const es::ParserLimits limits{.max_line = 70000, .max_event = 1 << 20};
  const std::size_t longest_data = limits.max_line - std::string_view("data: ").size();
  const es::Event at_limit = event("", std::string(longest_data, 'x'));
  CHECK(parse_whole(serialized(at_limit), limits).events == std::vector<es::Event>{at_limit});
  const es::Event over = event("", std::string(longest_data + 1, 'x'));
  CHECK(parse_whole(serialized(over), limits).error == es::ParseError::line_too_long);
}
