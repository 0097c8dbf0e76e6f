// SPDX-License-Identifier: GPL-3.0-or-later
// Fuzz target: JSON events (libes/src/sse/event_kind.cpp): es::compact_json
// and EventKind::json_events().make_event, what a POST body goes through
// on a server started with -j.
//
// Input: 1 control byte (the action: 0 ping, 1 close, 2 retry, 3 other),
// then the body.
//
// Checks:
// - compact_json succeeds exactly when nlohmann accepts the body (or refuses
//   it only for nesting deeper than es::max_json_depth, or for a NUL byte,
//   which nlohmann takes for the end of the input);
// - on success: no CR, LF or NUL in the output (one data line), it parses as JSON
//   equal to the body's parse, and compacting it again changes nothing;
// - make_event agrees with compact_json for ping and close; the event it
//   makes serializes as exactly one data line; a retry event is made only
//   from digits, at most es::max_retry; an action the kind does not allow is
//   refused.

#include "fuzz_support.hpp"

#include <es/event_kind.hpp>
#include <es/serializer.hpp>

#include <nlohmann/json.hpp>

#include <string>

namespace {

std::size_t count_data_lines(std::string_view wire) {
  std::size_t n = 0;
  for (std::size_t at = 0; (at = wire.find("data: ", at)) != std::string_view::npos; at += 6)
    if (at == 0 || wire[at - 1] == '\n') ++n;
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  es::fuzz::Input input(data, size, 1);
  static const char* const kActions[] = {"ping", "close", "retry", "other"};
  const std::string action = kActions[input.next() & 3];
  const es::fuzz::Piece body_copy(input.rest());
  const std::string_view body = body_copy.view();

  const es::Result<std::string> compact = es::compact_json(body);
  if (compact) {
    const std::string& out = compact.value();
    FUZZ_CHECK(out.find('\n') == std::string::npos && out.find('\r') == std::string::npos);
    FUZZ_CHECK(out.find('\0') == std::string::npos);
    const nlohmann::json original = nlohmann::json::parse(body);
    const nlohmann::json reparsed = nlohmann::json::parse(out);
    FUZZ_CHECK(reparsed == original);
    const es::Result<std::string> twice = es::compact_json(out);
    FUZZ_CHECK(twice && twice.value() == out);
  } else {
    const bool too_deep = compact.error().find("deeper than") != std::string::npos;
    // nlohmann stops at a NUL byte as if the input ended there; JSON never
    // holds one, so compact_json refuses it whatever nlohmann would say.
    const bool has_nul = body.find('\0') != std::string_view::npos;
    if (!too_deep && !has_nul) FUZZ_CHECK(!nlohmann::json::accept(body));
    FUZZ_CHECK(!compact.error().empty());
  }

  static const es::EventKind kind = es::EventKind::json_events();
  const es::Result<es::Event> event = kind.make_event(action, body);
  if (action == "other") {
    FUZZ_CHECK(!event);
    return 0;
  }
  if (action == "retry") {
    // Digits only (leading zeros allowed), at most max_retry milliseconds.
    bool digits = !body.empty();
    for (char c : body) digits = digits && c >= '0' && c <= '9';
    std::string_view significant = body;
    while (significant.size() > 1 && significant.front() == '0') significant.remove_prefix(1);
    const bool fits = digits && significant.size() <= 9 &&
                      std::stoull(std::string(significant)) <= static_cast<unsigned long long>(es::max_retry.count());
    FUZZ_CHECK(static_cast<bool>(event) == fits);
    if (event) {
      FUZZ_CHECK(event.value().retry && event.value().retry->count() == static_cast<long long>(std::stoull(std::string(significant))));
      FUZZ_CHECK(event.value().name.empty() && event.value().data.empty());
    }
    return 0;
  }
  if (action == "close" && body.empty()) {
    FUZZ_CHECK(event && event.value().name == "close" && event.value().data.empty());
    return 0;
  }
  FUZZ_CHECK(static_cast<bool>(event) == static_cast<bool>(compact));
  if (!event) return 0;
  FUZZ_CHECK(event.value().name == action && event.value().data == compact.value());
  const es::Result<std::string> wire = es::serialize(event.value());
  FUZZ_CHECK(wire && count_data_lines(wire.value()) == 1);
  return 0;
}
