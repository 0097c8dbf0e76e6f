// SPDX-License-Identifier: GPL-3.0-or-later
#include <es/event_kind.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <utility>

namespace es {
namespace {

/// A request body quoted in an error message, cut short so that a 400 answer
/// never echoes a whole upload.
std::string quote_excerpt(std::string_view body) {
  constexpr std::size_t max_shown = 40;
  std::string quoted = "'";
  quoted += body.substr(0, max_shown);
  if (body.size() > max_shown) quoted += "...";
  quoted += "'";
  return quoted;
}

bool all_decimal_digits(std::string_view s) {
  if (s.empty()) return false;
  for (const char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

Result<Event> make_retry_event(std::string_view body) {
  if (!all_decimal_digits(body)) {
    return Failure{"retry needs a whole number of milliseconds, got " + quote_excerpt(body)};
  }
  std::uint64_t ms = 0;
  const auto [end, error] = std::from_chars(body.data(), body.data() + body.size(), ms);
  if (error != std::errc{} || ms > static_cast<std::uint64_t>(max_retry.count())) {
    return Failure{"retry needs at most " + std::to_string(max_retry.count()) +
                   " milliseconds (one day), got " + quote_excerpt(body)};
  }
  Event e;
  e.retry = std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(ms));
  return e;
}

std::string join_names(const std::set<std::string, std::less<>>& names) {
  std::string joined;
  for (const auto& name : names) {
    if (!joined.empty()) joined += ", ";
    joined += name;
  }
  return joined;
}

/// nlohmann's what() reads "[json.exception.parse_error.101] parse error at
/// line 1, column 2: syntax error while parsing value - ...". A person posting
/// data wants the problem first and the position after it, without the
/// library's exception id.
std::string describe_json_error(const nlohmann::json::exception& e) {
  std::string_view text = e.what();
  if (text.starts_with("[json.exception.")) {
    const auto close = text.find("] ");
    if (close != std::string_view::npos) text.remove_prefix(close + 2);
  }
  constexpr std::string_view parse_error = "parse error";
  if (text.starts_with(parse_error)) {
    text.remove_prefix(parse_error.size());
    const auto colon = text.find(": ");
    if (colon != std::string_view::npos) {
      const std::string_view position = text.substr(0, colon); // " at line L, column C"
      const std::string_view problem = text.substr(colon + 2);
      return "data is not valid JSON: " + std::string(problem) + std::string(position);
    }
  }
  return "data is not valid JSON: " + std::string(text);
}

struct TooDeep {};

}  // namespace

bool EventKind::allows(std::string_view action) const {
  return actions.empty() || actions.contains(action);
}

Result<Event> EventKind::make_event(std::string_view action, std::string_view body) const {
  if (!allows(action)) {
    return Failure{"action '" + std::string(action) + "' is not allowed (allowed: " + join_names(actions) + ")"};
  }
  if (action == retry_action) return make_retry_event(body);

  Event e;
  e.name = action;
  if (action == close_action && body.empty()) return e;
  Result<std::string> data = transform ? transform(body) : keep_text(body);
  if (!data) return Failure{data.error()};
  e.data = std::move(data).value();
  return e;
}

EventKind EventKind::string_events() {
  EventKind kind;
  kind.name = "string";
  kind.actions = {"ping", std::string(close_action), std::string(retry_action)};
  kind.transform = keep_text;
  return kind;
}

EventKind EventKind::json_events() {
  EventKind kind = string_events();
  kind.name = "json";
  kind.transform = compact_json;
  kind.json_data = true;
  return kind;
}

EventKind EventKind::string_id_events() {
  EventKind kind = string_events();
  kind.name = "string-id";
  kind.ids = std::make_shared<CounterIdSource>();
  return kind;
}

EventKind EventKind::json_id_events() {
  EventKind kind = json_events();
  kind.name = "json-id";
  kind.ids = std::make_shared<CounterIdSource>();
  return kind;
}

Result<std::string> keep_text(std::string_view body) {
  return std::string(body);
}

namespace {

/// `json` (already validated) without its insignificant whitespace (RFC 8259,
/// section 2: space, tab, LF, CR between tokens) and without a leading UTF-8
/// byte order mark. Everything else is the publisher's: key order, number
/// text, string escapes. A valid JSON string holds no raw line break, so the
/// result is one line.
std::string strip_insignificant_whitespace(std::string_view json) {
  if (json.starts_with("\xEF\xBB\xBF")) json.remove_prefix(3);
  std::string out;
  out.reserve(json.size());
  bool in_string = false;
  bool escaped = false;
  for (const char c : json) {
    if (in_string) {
      out += c;
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
    if (c == '"') in_string = true;
    out += c;
  }
  return out;
}

}  // namespace

Result<std::string> compact_json(std::string_view body) {
  using nlohmann::json;
  // Parsed only to validate (the DOM parser's messages are the ones users
  // see; the document is dropped). The callback's depth
  // counts the containers around the one starting, so depth + 1 is its
  // nesting level: a body of a million '[' is refused rather than parsed.
  const json::parser_callback_t limit_depth = [](int depth, json::parse_event_t event, json&) {
    const bool opens = event == json::parse_event_t::object_start || event == json::parse_event_t::array_start;
    if (opens && depth >= max_json_depth) throw TooDeep{};
    return true;
  };
  // nlohmann's lexer takes a NUL byte for the end of the input, so "1\0..."
  // would pass as the JSON "1" and whatever follows the NUL be sent on, raw
  // line breaks included (found by fuzz/json_event). JSON text never holds a
  // NUL byte: not between tokens, not in a literal, and only escaped in a string.
  if (const std::size_t nul = body.find('\0'); nul != std::string_view::npos) {
    const std::string_view before = body.substr(0, nul);
    const std::size_t line_start = before.rfind('\n') == std::string_view::npos ? 0 : before.rfind('\n') + 1;
    const auto line = 1 + std::count(before.begin(), before.end(), '\n');
    return Failure{"data is not valid JSON: a NUL byte (it must be escaped as \\u0000 in a string) at line " +
                   std::to_string(line) + ", column " + std::to_string(nul - line_start + 1)};
  }
  try {
    [[maybe_unused]] const json parsed = json::parse(body, limit_depth);
  } catch (const TooDeep&) {
    return Failure{"data nests JSON arrays and objects deeper than " + std::to_string(max_json_depth) + " levels"};
  } catch (const json::exception& e) {
    return Failure{describe_json_error(e)};
  }
  // Sent as the publisher wrote it: event-source-library passes the JSON on,
  // and re-encoding would sort object keys and round big numbers
  // (123456789012345678901234567890 became 1.2345678901234568e+29).
  return strip_insignificant_whitespace(body);
}

std::string join_lines(std::string_view body, std::string_view separator) {
  std::string joined;
  joined.reserve(body.size());
  for (std::size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (c == '\r' || c == '\n') {
      joined += separator;
      if (c == '\r' && i + 1 < body.size() && body[i + 1] == '\n') ++i;
    } else {
      joined += c;
    }
  }
  return joined;
}

}  // namespace es
