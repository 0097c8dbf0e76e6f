// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// What a POST becomes: event-source-library's Event classes.
//
// A kind says which actions may be posted, how a request body turns into event
// data, and where ids come from. The four kinds of the original are ready made;
// a new one is a few lines (see tests/unit/event_kind_test.cpp and examples/):
//
//   es::EventKind one_line = es::EventKind::string_events();
//   one_line.actions = {"ping", "close"};
//   one_line.transform = [](std::string_view body) -> es::Result<std::string> {
//     return es::join_lines(body, ";");
//   };
//   one_line.ids = std::make_shared<es::TimestampIdSource>();

#include <es/export.hpp>
#include <es/event.hpp>
#include <es/event_id.hpp>
#include <es/result.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>

namespace es {

/// The action that opens a stream (GET /poll/TOKEN), upstream Event.LISTEN.
inline constexpr std::string_view default_listen_action = "poll";
/// The action that sends a final event and ends the token's streams, upstream Event.FINISH.
inline constexpr std::string_view close_action = "close";
/// The action whose body is a reconnection time in milliseconds, upstream Event.RETRY.
inline constexpr std::string_view retry_action = "retry";
/// The longest reconnection time a `retry` POST may ask for: one day. A
/// larger value is almost surely a mistake (seconds taken for milliseconds).
inline constexpr std::chrono::milliseconds max_retry{86'400'000};
/// JSON data may nest arrays and objects this deep (RFC 8259 section 9 lets a
/// parser set the limit); deeper is refused.
inline constexpr int max_json_depth = 512;

struct ES_API EventKind {
  using Transform = std::function<Result<std::string>(std::string_view body)>;

  /// A short name for logs and --help ("string", "json", ...).
  std::string name;
  /// Actions a POST may name. An empty set allows every action.
  std::set<std::string, std::less<>> actions;
  /// Request body -> event data. A failure's message is sent back with a 400.
  /// Null: the body as is (keep_text).
  Transform transform;
  /// Null: events carry no id.
  std::shared_ptr<IdSource> ids;
  /// Event data is JSON text (json_events): framings that embed the data in
  /// JSON (WebSocket subscribers) put the value itself, not a string.
  bool json_data = false;

  bool allows(std::string_view action) const;

  /// Builds the event for a POST of `body` as `action` (ids are not assigned
  /// here: the publisher does that in token order).
  /// - `retry`: body must be a decimal number of milliseconds, at most
  ///   max_retry; gives an event with only `retry` set.
  /// - `close`: an event named "close"; an empty body is allowed in every kind.
  /// - any other allowed action: an event named after the action.
  /// Fails, with a message for the 400 answer, when the body is not valid
  /// for the kind. Check allows() first: a disallowed action is a failure too,
  /// but the server answers it with 404 before looking at the body.
  Result<Event> make_event(std::string_view action, std::string_view body) const;

  // The four kinds of event-source-library.
  /// StringEvent: the body as is, one data line per line. Actions ping, close, retry.
  static EventKind string_events();
  /// JSONEvent: the body must be JSON; sent on one line as the publisher wrote it,
  /// insignificant whitespace removed. Actions ping, close, retry.
  static EventKind json_events();
  /// StringIdEvent: string_events() with a CounterIdSource.
  static EventKind string_id_events();
  /// JSONIdEvent: json_events() with a CounterIdSource.
  static EventKind json_id_events();
};

/// Data transform of string events: the body unchanged.
ES_API Result<std::string> keep_text(std::string_view body);
/// Data transform of JSON events: checks that `body` is JSON, then returns it
/// as written (key order, number text and string escapes kept) without its
/// insignificant whitespace, on one line. The failure names the parse problem
/// ("data is not valid JSON: ... at line 1, column 7"). Nesting deeper than
/// max_json_depth is refused too.
ES_API Result<std::string> compact_json(std::string_view body);
/// Joins the lines of `body` (split on CRLF, LF or CR) with `separator`:
/// the OneLineEvent of the upstream README. Every line break becomes one
/// separator, a trailing one included, as Python's split and join do.
ES_API std::string join_lines(std::string_view body, std::string_view separator);

}  // namespace es
