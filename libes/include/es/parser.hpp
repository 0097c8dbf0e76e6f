// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// A push-style parser for text/event-stream, exactly the WHATWG "interpret an
// event stream" algorithm: feed it bytes as they arrive, in pieces of any
// size; events come out through callbacks.
//
// Bytes from the network are data, not exceptions: malformed lines are ignored
// as the spec says. Only resource limits are errors: a line or an event over
// its limit makes feed() return an error, and the parser then stays failed
// until end_of_stream() or reset() (the caller drops the connection).
//
// Bytes are passed through as they are: the parser does not decode UTF-8, so
// invalid sequences reach the handlers unchanged (a browser would see U+FFFD).

#include <es/export.hpp>
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
ES_API std::string describe(ParseError error, const ParserLimits& limits);

class ES_API Parser {
 public:
  struct Handlers {
    /// A dispatched event: name (empty = "message"), data, and the last event
    /// id; retry is never set (it comes through on_retry). Never called for an
    /// event whose data buffer is empty (WHATWG): "data\n\n" dispatches an
    /// event with empty data, "event: x\n\n" dispatches nothing. The
    /// reference is valid only during the call.
    std::function<void(const Event&)> on_event;
    /// A valid `retry:` field (ASCII digits only).
    std::function<void(std::chrono::milliseconds)> on_retry;
    /// A comment line, without the leading colon. Optional.
    std::function<void(std::string_view)> on_comment;
  };

  /// The handlers must not call feed(), end_of_stream() or reset() of this parser.
  explicit Parser(Handlers handlers, ParserLimits limits = {});

  /// Parses `bytes`, the next piece of the stream. Returns ParseError::none,
  /// or the first limit exceeded (then, until end_of_stream() or reset(), it
  /// parses nothing and returns that error again).
  ParseError feed(std::string_view bytes);
  /// The stream ended: an unterminated event is discarded (WHATWG), a pending
  /// CR is a line end. The parser is ready for a new stream afterwards (a BOM
  /// is skipped again, a limit error is cleared) and keeps the last event id.
  void end_of_stream();
  /// Back to the state of a new parser, last event id included.
  void reset();

  /// The id a reconnecting client sends as Last-Event-ID; empty for none.
  const std::string& last_event_id() const noexcept { return last_event_id_; }
  ParseError error() const noexcept { return error_; }

 private:
  ParseError scan_lines(std::string_view bytes);
  void process_line(std::string_view line);
  void process_field(std::string_view field, std::string_view value);
  void dispatch();
  ParseError fail(ParseError error);

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
  std::string last_event_id_;   // WHATWG "last event ID string", set at each dispatch
  Event event_;                 // handed to on_event; its buffers are swapped with data_ and event_type_
};

}  // namespace es
