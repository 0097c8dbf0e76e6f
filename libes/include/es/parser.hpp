// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// A push-style parser for text/event-stream, exactly the WHATWG "interpret an
// event stream" algorithm: feed it bytes as they arrive, in pieces of any
// size; events come out through callbacks.
//
// Bytes from the network are data, not exceptions: malformed lines are ignored
// as the spec says. Only resource limits are errors: a line or an event over
// its limit makes feed() return an error, and the parser then stays failed
// until reset() (the caller drops the connection).

#include <es/event.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace es {

struct ParserLimits {
  /// Longest line kept, in bytes, line end excluded.
  std::size_t max_line = 1 << 20;
  /// Largest event kept (data plus name), in bytes.
  std::size_t max_event = 8 << 20;
};

enum class ParseError {
  none,
  line_too_long,   ///< a line is longer than ParserLimits::max_line
  event_too_large, ///< an event is larger than ParserLimits::max_event
};

/// "line too long (over N bytes)" and the like, for messages.
std::string describe(ParseError error, const ParserLimits& limits);

class Parser {
 public:
  struct Handlers {
    /// A dispatched event: name (empty = "message"), data, and the last event
    /// id. Never called for an event whose data buffer is empty (WHATWG).
    std::function<void(const Event&)> on_event;
    /// A valid `retry:` field (ASCII digits only).
    std::function<void(std::chrono::milliseconds)> on_retry;
    /// A comment line, without the leading colon. Optional.
    std::function<void(std::string_view)> on_comment;
  };

  explicit Parser(Handlers handlers, ParserLimits limits = {});

  /// Parses `bytes`, the next piece of the stream. Returns ParseError::none,
  /// or the first limit exceeded (then, and until reset(), it parses nothing).
  ParseError feed(std::string_view bytes);
  /// The stream ended: an unterminated event is discarded (WHATWG), a pending
  /// CR is a line end. The parser is ready for a new stream afterwards (a BOM
  /// is skipped again) and keeps the last event id.
  void end_of_stream();
  /// Back to the state of a new parser, last event id included.
  void reset();

  /// The id a reconnecting client sends as Last-Event-ID; empty for none.
  const std::string& last_event_id() const noexcept { return last_event_id_; }
  ParseError error() const noexcept { return error_; }

 private:
  void process_line(std::string_view line);
  void process_field(std::string_view field, std::string_view value);
  void dispatch();
  bool add_to_event(std::size_t bytes);

  Handlers handlers_;
  ParserLimits limits_;
  ParseError error_ = ParseError::none;
  std::string line_;            // the line being assembled across feeds
  bool at_stream_start_ = true; // a leading BOM is still possible
  std::string bom_prefix_;      // the first bytes, while they could still be a BOM
  bool after_cr_ = false;       // the last byte was CR: a following LF belongs to it
  std::string data_;
  std::string event_type_;
  std::string id_buffer_;       // WHATWG "last event ID buffer"
  std::string last_event_id_;   // the id of the last dispatched event's stream
  std::size_t event_bytes_ = 0;
};

}  // namespace es
