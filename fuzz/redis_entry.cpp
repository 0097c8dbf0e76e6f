// SPDX-License-Identifier: GPL-3.0-or-later
// Fuzz target: what the Redis store reads from outside programs
// (libes/src/server/store/redis/stream_entry.cpp) and the --redis URL
// (redis_address.cpp).
//
// Input: the first byte picks the kind (even: text, odd: JSON); the rest is
// NUL-separated NAME, VALUE, NAME, VALUE... (a stream entry's fields), and
// is also tried whole as a PUBLISH payload, an entry id and a URL.
//
// Checks:
// - nothing crashes, whatever the fields;
// - an accepted entry had a data field; its event is within --max-body;
//   "close" sets close_after exactly when the name is close;
// - what an accepted event's fields are written back as (entry_fields) reads
//   back as the same event (the store's own XADD round trip);
// - an accepted entry id formats back to itself when it has no leading zeros;
// - a parsed URL's display is the URL with its password, and only that,
//   replaced by "***".

#include "fuzz_support.hpp"

#include "server/store/redis/redis_address.hpp"
#include "server/store/redis/stream_entry.hpp"

#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  es::fuzz::Input input(data, size, 1);
  static const es::EventKind text = es::EventKind::string_events();
  static const es::EventKind json = es::EventKind::json_events();
  const es::EventKind& kind = input.next() % 2 ? json : text;
  const es::EntryRules rules{kind, 1024};
  const std::string_view rest = input.rest();

  std::vector<std::string_view> parts;
  for (std::size_t at = 0; at <= rest.size();) {
    const auto nul = rest.find('\0', at);
    const auto end = nul == std::string_view::npos ? rest.size() : nul;
    parts.push_back(rest.substr(at, end - at));
    at = end + 1;
  }
  std::vector<es::EntryField> fields;
  bool has_data = false;
  for (std::size_t i = 0; i + 1 < parts.size(); i += 2) {
    fields.emplace_back(parts[i], parts[i + 1]);
    if (parts[i] == "data") has_data = true;
  }

  auto entry = es::event_from_entry(fields, rules);
  if (entry) {
    FUZZ_CHECK(has_data);
    FUZZ_CHECK(entry->event.data.size() <= rules.max_data);
    FUZZ_CHECK(entry->close_after == (entry->event.name == es::close_action));
    std::string retry_text;
    const auto written = es::entry_fields(entry->event, retry_text);
    auto back = es::event_from_entry(written, rules);
    FUZZ_CHECK(static_cast<bool>(back));
    FUZZ_CHECK(back->event == entry->event);
  }

  [[maybe_unused]] auto live = es::event_from_message(rest, rules);

  if (auto position = es::parse_entry_id(rest)) {
    const std::string again = es::format_entry_id(*position);
    const auto seq_zero = rest.find("-0");
    const bool leading_zero = (rest.size() > 1 && rest[0] == '0' && rest[1] != '-') ||
                              (seq_zero != std::string_view::npos && seq_zero + 2 < rest.size());
    if (!leading_zero && rest.find('+') == std::string_view::npos) FUZZ_CHECK(again == rest);
  }

  // The display is the URL with exactly the password replaced by "***" (a
  // search for the password in it misleads: "redis://://:***@h" has the
  // password "//:***", and its display "redis://:***@h" contains it).
  if (auto address = es::RedisAddress::parse(rest); address && !address->password.empty()) {
    const auto at = rest.rfind('@');
    FUZZ_CHECK(at != std::string_view::npos && at >= address->password.size());
    const std::string expected =
        std::string(rest.substr(0, at - address->password.size())) + "***" + std::string(rest.substr(at));
    FUZZ_CHECK(address->display == expected);
  }
  return 0;
}
