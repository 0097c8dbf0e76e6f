// SPDX-License-Identifier: GPL-3.0-or-later
// Fuzz target: es::serialize then es::Parser (libes/src/sse/serializer.cpp,
// parser.cpp): what the serializer writes, the parser reads back.
//
// Input: 6 control bytes, then the event's fields.
//   [0] length of the name, [1] length of the id (taken from the bytes that
//   follow, in that order; the rest is the data), [2] bit 0: a retry is set,
//   its value from [3] and the next bytes; [4] [5] seed and shape of the split.
//
// Checks, whenever serialize() accepts the event (and that it refuses exactly
// what invalid_event_reason() names):
// - parsing the bytes, whole or in pieces, gives back the event: same name,
//   same id (the last event id too), data with CRLF and lone CR turned to LF
//   (the wire cannot carry CR), the retry as its own report; nothing else
//   (no second event, no comment, no error);
// - an event with neither data nor name dispatches nothing;
// - serialize_shared() writes the same bytes.

#include "fuzz_support.hpp"

#include <es/parser.hpp>
#include <es/serializer.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace {

// The data as the parser gives it back: CRLF and a lone CR become LF.
std::string normalise_line_breaks(std::string_view data) {
  std::string out;
  out.reserve(data.size());
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

struct Parsed {
  std::vector<es::Event> events;
  std::vector<std::chrono::milliseconds> retries;
  std::size_t comments = 0;
  es::ParseError error = es::ParseError::none;
  std::string last_event_id;
};

template <class Feed>
Parsed parse(Feed&& feed_pieces) {
  Parsed out;
  es::Parser parser({[&out](const es::Event& e) { out.events.push_back(e); },
                     [&out](std::chrono::milliseconds r) { out.retries.push_back(r); },
                     [&out](std::string_view) { ++out.comments; }});
  feed_pieces([&](std::string_view piece) {
    const es::ParseError error = parser.feed(piece);
    if (out.error == es::ParseError::none) out.error = error;
  });
  out.last_event_id = parser.last_event_id();
  return out;
}

void check_parsed(const Parsed& p, const es::Event& sent) {
  FUZZ_CHECK(p.error == es::ParseError::none);
  FUZZ_CHECK(p.comments == 0);
  FUZZ_CHECK(p.last_event_id == sent.id);
  if (sent.retry) {
    FUZZ_CHECK(p.retries.size() == 1 && p.retries[0] == *sent.retry);
  } else {
    FUZZ_CHECK(p.retries.empty());
  }
  if (sent.data.empty() && sent.name.empty()) {
    FUZZ_CHECK(p.events.empty());
    return;
  }
  FUZZ_CHECK(p.events.size() == 1);
  const es::Event& got = p.events[0];
  FUZZ_CHECK(got.name == sent.name);
  FUZZ_CHECK(got.id == sent.id);
  FUZZ_CHECK(got.data == normalise_line_breaks(sent.data));
  FUZZ_CHECK(!got.retry);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  es::fuzz::Input input(data, size, 6);
  const std::size_t name_length = input.next();
  const std::size_t id_length = input.next();
  const bool has_retry = (input.next() & 1) != 0;
  const std::uint8_t retry_low = input.next();
  const std::uint8_t seed = input.next();
  es::fuzz::Splitter splitter(seed, 0, input.next());
  std::string_view fields = input.rest();

  es::Event event;
  event.name = fields.substr(0, name_length);
  fields.remove_prefix(event.name.size());
  event.id = fields.substr(0, id_length);
  fields.remove_prefix(event.id.size());
  if (has_retry) {
    // The low byte from the control bytes; with its bit 7 set, 8 more bytes
    // make a full 64-bit value (negative ones included: they must be refused).
    std::int64_t value = retry_low & 0x7f;
    if ((retry_low & 0x80) && fields.size() >= 8) {
      std::uint64_t wide = 0;
      for (int i = 0; i < 8; ++i) wide = wide << 8 | static_cast<std::uint8_t>(fields[static_cast<std::size_t>(i)]);
      fields.remove_prefix(8);
      value = static_cast<std::int64_t>(wide);
    }
    event.retry = std::chrono::milliseconds(value);
  }
  event.data = fields;

  const es::Result<std::string> bytes = es::serialize(event);
  const std::string reason = es::invalid_event_reason(event);
  FUZZ_CHECK(static_cast<bool>(bytes) == reason.empty());
  if (!bytes) {
    FUZZ_CHECK(bytes.error() == reason);
    return 0;
  }
  const std::string& wire = bytes.value();
  FUZZ_CHECK(!wire.empty() && wire.back() == '\n');
  FUZZ_CHECK(wire.find('\r') == std::string::npos);

  const es::Result<es::SharedBytes> shared = es::serialize_shared(event);
  FUZZ_CHECK(shared && *shared.value() == wire);

  check_parsed(parse([&](auto feed) { feed(es::fuzz::Piece(wire).view()); }), event);
  check_parsed(parse([&](auto feed) {
                 for (std::size_t at = 0; at < wire.size();) {
                   const std::size_t n = splitter.next(wire.size() - at);
                   feed(es::fuzz::Piece(std::string_view(wire).substr(at, n)).view());
                   at += n;
                 }
               }),
               event);
  return 0;
}
