// SPDX-License-Identifier: GPL-3.0-or-later
// Fuzz target: es::Parser, the text/event-stream parser (libes/src/sse/parser.cpp).
//
// Input: 5 control bytes, then the stream.
//   [0] bit 7 set: small limits, max_line = 1 + (bits 0-6); clear: the defaults
//   [1] with small limits, max_event = 1 + 4 * [1]
//   [2] [3] seed of the split points, [4] their shape (fuzz_support.hpp)
//
// Checks:
// - fed whole or in pieces (empty ones, null views included), the parser
//   reports exactly the same events, retries, comments, last id and error;
// - once failed, feed() returns the same error again;
// - what comes out respects the limits: an event's data plus name at most
//   max_event, a name, id or comment at most max_line; no CR anywhere, LF only
//   inside data, no NUL in an id; every event it dispatches can be serialized;
// - the result is the one of a plain, whole-stream reading of the WHATWG
//   algorithm (reference_parse below), limits included;
// - after reset() the same stream gives the same result as a new parser;
//   after end_of_stream() the error is cleared.

#include "fuzz_support.hpp"

#include <es/parser.hpp>
#include <es/serializer.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace {

struct Parsed {
  std::vector<es::Event> events;
  std::vector<std::chrono::milliseconds> retries;
  std::vector<std::string> comments;
  std::string last_event_id;
  es::ParseError error = es::ParseError::none;
  friend bool operator==(const Parsed&, const Parsed&) = default;
};

class Recorder {
 public:
  explicit Recorder(es::ParserLimits limits)
      : parser_({[this](const es::Event& e) { out_.events.push_back(e); },
                 [this](std::chrono::milliseconds retry) { out_.retries.push_back(retry); },
                 [this](std::string_view comment) { out_.comments.emplace_back(comment); }},
                limits) {}

  void feed(std::string_view bytes) {
    const es::ParseError before = parser_.error();
    const es::ParseError error = parser_.feed(bytes);
    FUZZ_CHECK(error == parser_.error());
    if (before != es::ParseError::none) FUZZ_CHECK(error == before);  // failed stays failed
    if (out_.error == es::ParseError::none) out_.error = error;
  }
  Parsed take() {
    out_.last_event_id = parser_.last_event_id();
    Parsed done = std::move(out_);
    out_ = Parsed{};
    return done;
  }
  es::Parser& parser() { return parser_; }

 private:
  Parsed out_;
  es::Parser parser_;
};

bool has(std::string_view s, char c) { return s.find(c) != std::string_view::npos; }

void check_limits(const Parsed& p, const es::ParserLimits& limits) {
  for (const es::Event& e : p.events) {
    FUZZ_CHECK(e.data.size() + e.name.size() <= limits.max_event);
    FUZZ_CHECK(e.name.size() <= limits.max_line);
    FUZZ_CHECK(e.id.size() <= limits.max_line);
    FUZZ_CHECK(!has(e.name, '\r') && !has(e.name, '\n'));
    FUZZ_CHECK(!has(e.id, '\r') && !has(e.id, '\n') && !has(e.id, '\0'));
    FUZZ_CHECK(!has(e.data, '\r'));
    FUZZ_CHECK(!e.retry);
    // Whatever the parser hands out, the serializer can write again.
    FUZZ_CHECK(static_cast<bool>(es::serialize(e)));
  }
  for (const auto& retry : p.retries) FUZZ_CHECK(retry.count() >= 0);
  for (const std::string& c : p.comments) {
    FUZZ_CHECK(c.size() < limits.max_line);  // the line held ':' too
    FUZZ_CHECK(!has(c, '\r') && !has(c, '\n'));
  }
  FUZZ_CHECK(p.last_event_id.size() <= limits.max_line);
  FUZZ_CHECK(!has(p.last_event_id, '\0'));
}

// The WHATWG algorithm written the plain way, for the parser to agree with:
// the whole stream at once, cut into lines first, then each line
// interpreted; with the parser's limits (a line over max_line fails when it
// is seen, complete or not; a data or event field that would make the event
// pass max_event fails) and nothing after the first failure.
Parsed reference_parse(std::string_view stream, const es::ParserLimits& limits) {
  constexpr std::string_view bom = "\xEF\xBB\xBF";
  Parsed out;
  if (stream.size() < bom.size() && bom.starts_with(stream)) return out;  // a BOM still to come
  if (stream.starts_with(bom)) stream.remove_prefix(bom.size());
  std::string data, type, id_buffer;
  std::size_t pos = 0;
  while (pos < stream.size()) {
    const std::size_t end = std::min(stream.find('\n', pos), stream.find('\r', pos));
    const std::string_view line = stream.substr(pos, (end == std::string_view::npos ? stream.size() : end) - pos);
    if (line.size() > limits.max_line) {
      out.error = es::ParseError::line_too_long;
      break;
    }
    if (end == std::string_view::npos) break;  // unfinished: kept for later, never interpreted
    pos = end + 1;
    if (stream[end] == '\r' && pos < stream.size() && stream[pos] == '\n') ++pos;

    if (line.empty()) {  // dispatch
      out.last_event_id = id_buffer;
      if (!data.empty()) {
        data.pop_back();
        out.events.push_back({type, data, out.last_event_id, {}});
      }
      data.clear();
      type.clear();
      continue;
    }
    if (line.front() == ':') {
      out.comments.emplace_back(line.substr(1));
      continue;
    }
    const std::size_t colon = line.find(':');
    const std::string_view field = line.substr(0, colon);
    std::string_view value = colon == std::string_view::npos ? std::string_view() : line.substr(colon + 1);
    if (value.starts_with(' ')) value.remove_prefix(1);
    if (field == "data") {
      if (data.size() + value.size() + type.size() > limits.max_event) {
        out.error = es::ParseError::event_too_large;
        break;
      }
      data.append(value);
      data.push_back('\n');
    } else if (field == "event") {
      if ((data.empty() ? 0 : data.size() - 1) + value.size() > limits.max_event) {
        out.error = es::ParseError::event_too_large;
        break;
      }
      type = value;
    } else if (field == "id") {
      if (value.find('\0') == std::string_view::npos) id_buffer = value;
    } else if (field == "retry") {
      bool digits = !value.empty();
      for (char c : value) digits = digits && c >= '0' && c <= '9';
      if (digits) {
        // Saturating, as the parser documents for a value too large to hold.
        std::int64_t ms = 0;
        for (char c : value) {
          if (ms > (std::numeric_limits<std::int64_t>::max() - (c - '0')) / 10) {
            ms = std::numeric_limits<std::int64_t>::max();
            break;
          }
          ms = ms * 10 + (c - '0');
        }
        out.retries.emplace_back(ms);
      }
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  es::fuzz::Input input(data, size, 5);
  es::ParserLimits limits;
  const std::uint8_t line = input.next();
  const std::uint8_t event = input.next();
  if (line & 0x80) {
    limits.max_line = 1 + (line & 0x7f);
    limits.max_event = 1 + 4 * static_cast<std::size_t>(event);
  }
  const std::uint8_t seed_low = input.next();
  const std::uint8_t seed_high = input.next();
  es::fuzz::Splitter splitter(seed_low, seed_high, input.next());
  const std::string_view stream = input.rest();

  Recorder whole_parser(limits);
  whole_parser.feed(es::fuzz::Piece(stream).view());
  const Parsed whole = whole_parser.take();
  check_limits(whole, limits);
  // A parser that fails keeps the last event id it had; so does the reference
  // (it stops at the same line).
  FUZZ_CHECK(reference_parse(stream, limits) == whole);

  Recorder split_parser(limits);
  for (std::size_t at = 0; at < stream.size();) {
    const std::size_t n = splitter.next(stream.size() - at);
    split_parser.feed(es::fuzz::Piece(stream.substr(at, n)).view());
    at += n;
  }
  split_parser.feed(std::string_view{});
  const Parsed split = split_parser.take();
  FUZZ_CHECK(split == whole);

  // reset(): as good as new.
  split_parser.parser().reset();
  FUZZ_CHECK(split_parser.parser().error() == es::ParseError::none);
  FUZZ_CHECK(split_parser.parser().last_event_id().empty());
  split_parser.feed(es::fuzz::Piece(stream).view());
  FUZZ_CHECK(split_parser.take() == whole);

  // end_of_stream(): the error is cleared, the last event id kept.
  const std::string last_id = whole_parser.parser().last_event_id();
  whole_parser.parser().end_of_stream();
  FUZZ_CHECK(whole_parser.parser().error() == es::ParseError::none);
  FUZZ_CHECK(whole_parser.parser().last_event_id() == last_id);
  return 0;
}
