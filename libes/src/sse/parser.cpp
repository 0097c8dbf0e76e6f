// SPDX-License-Identifier: GPL-3.0-or-later
#include <es/parser.hpp>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <limits>
#include <system_error>
#include <utility>

namespace es {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

std::size_t find_byte(std::string_view text, char byte, std::size_t from) noexcept {
  // memchr() must not be given a null pointer, even with a length of 0, and an
  // empty view may have one (std::string_view{}): nothing to search anyway.
  if (from >= text.size()) return text.size();
  const void* hit = std::memchr(text.data() + from, byte, text.size() - from);
  return hit == nullptr ? text.size() : static_cast<std::size_t>(static_cast<const char*>(hit) - text.data());
}

bool all_ascii_digits(std::string_view text) noexcept {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Frees a buffer's memory, not only its contents (after a limit error the
// buffers may hold up to a limit's worth of bytes).
void release(std::string& buffer) { std::string().swap(buffer); }

}  // namespace

std::string describe(ParseError error, const ParserLimits& limits) {
  switch (error) {
    case ParseError::none:
      return "no error";
    case ParseError::line_too_long:
      return "line too long (over " + std::to_string(limits.max_line) + " bytes)";
    case ParseError::event_too_large:
      return "event too large (over " + std::to_string(limits.max_event) + " bytes)";
  }
  return "unknown parse error";
}

Parser::Parser(Handlers handlers, ParserLimits limits) : handlers_(std::move(handlers)), limits_(limits) {}

ParseError Parser::feed(std::string_view bytes) {
  if (error_ != ParseError::none) return error_;
  if (at_stream_start_) {
    if (bytes.empty()) return ParseError::none;
    // WHATWG: one leading U+FEFF is skipped. Its three bytes may arrive in
    // separate feeds, so a prefix of it is held until it is whole or broken.
    const std::size_t held = bom_prefix_.size();
    const std::size_t wanted = std::min(kBom.size() - held, bytes.size());
    if (bytes.substr(0, wanted) == kBom.substr(held, wanted)) {
      if (held + wanted < kBom.size()) {
        bom_prefix_.append(bytes);
        return ParseError::none;
      }
      bytes.remove_prefix(wanted);
      bom_prefix_.clear();
      at_stream_start_ = false;
    } else {
      // Not a BOM after all: the held bytes are the start of the first line.
      at_stream_start_ = false;
      if (!bom_prefix_.empty()) {
        const std::string not_a_bom = std::exchange(bom_prefix_, std::string());
        if (scan_lines(not_a_bom) != ParseError::none) return error_;
      }
    }
  }
  return scan_lines(bytes);
}

ParseError Parser::scan_lines(std::string_view bytes) {
  // WHATWG: CRLF is one line end. The line was already processed at the CR,
  // so an LF that opens this piece only completes it.
  if (after_cr_ && !bytes.empty()) {
    after_cr_ = false;
    if (bytes.front() == '\n') bytes.remove_prefix(1);
  }
  const std::size_t size = bytes.size();
  std::size_t pos = 0;
  // Where the next LF and CR are; each is searched again only once passed, so
  // a piece is scanned at most twice whatever mix of line ends it holds.
  std::size_t next_lf = find_byte(bytes, '\n', 0);
  std::size_t next_cr = find_byte(bytes, '\r', 0);
  while (pos < size) {
    if (next_lf < pos) next_lf = find_byte(bytes, '\n', pos);
    if (next_cr < pos) next_cr = find_byte(bytes, '\r', pos);
    const std::size_t end = std::min(next_lf, next_cr);
    const std::string_view piece = bytes.substr(pos, end - pos);
    // Checked before anything is kept, so a line never grows past the limit.
    if (line_.size() + piece.size() > limits_.max_line) return fail(ParseError::line_too_long);
    if (end == size) {
      line_.append(piece);
      break;
    }
    if (line_.empty()) {
      process_line(piece);  // the whole line is in this piece: no copy
    } else {
      line_.append(piece);
      process_line(line_);
      line_.clear();
    }
    if (error_ != ParseError::none) return error_;
    pos = end + 1;
    if (bytes[end] == '\r') {
      if (pos == size) {
        after_cr_ = true;
      } else if (bytes[pos] == '\n') {
        ++pos;
      }
    }
  }
  return ParseError::none;
}

void Parser::process_line(std::string_view line) {
  // WHATWG "interpret an event stream": a blank line dispatches, a leading
  // colon makes a comment, the first colon splits field from value, and one
  // space after it is not part of the value.
  if (line.empty()) {
    dispatch();
    return;
  }
  if (line.front() == ':') {
    if (handlers_.on_comment) handlers_.on_comment(line.substr(1));
    return;
  }
  const std::size_t colon = find_byte(line, ':', 0);
  if (colon == line.size()) {
    process_field(line, {});
    return;
  }
  std::string_view value = line.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  process_field(line.substr(0, colon), value);
}

void Parser::process_field(std::string_view field, std::string_view value) {
  if (field == "data") {
    // data_ ends in the LF that will join this value, so this is the size
    // the dispatched data would have.
    if (data_.size() + value.size() + event_type_.size() > limits_.max_event) {
      fail(ParseError::event_too_large);
      return;
    }
    data_.append(value);
    data_.push_back('\n');
  } else if (field == "event") {
    const std::size_t data_size = data_.empty() ? 0 : data_.size() - 1;
    if (data_size + value.size() > limits_.max_event) {
      fail(ParseError::event_too_large);
      return;
    }
    event_type_.assign(value);
  } else if (field == "id") {
    // WHATWG: an id containing U+0000 is ignored; an empty one clears the id.
    if (find_byte(value, '\0', 0) == value.size()) id_buffer_.assign(value);
  } else if (field == "retry") {
    if (!all_ascii_digits(value)) return;
    std::int64_t milliseconds = 0;
    const auto parsed = std::from_chars(value.data(), value.data() + value.size(), milliseconds);
    // Digits only, so the only failure left is a value too large: saturate.
    if (parsed.ec == std::errc::result_out_of_range) milliseconds = std::numeric_limits<std::int64_t>::max();
    if (handlers_.on_retry) handlers_.on_retry(std::chrono::milliseconds(milliseconds));
  }
  // WHATWG: any other field is ignored.
}

void Parser::dispatch() {
  // WHATWG "dispatch the event": the last event id is set even when nothing
  // is dispatched, so an id-only message moves it.
  if (last_event_id_ != id_buffer_) last_event_id_ = id_buffer_;
  if (data_.empty()) {
    event_type_.clear();
    return;
  }
  data_.pop_back();  // the LF appended after the last data line
  // Swapped, not copied: the buffers take turns, so steady-state parsing does
  // not allocate.
  event_.name.swap(event_type_);
  event_.data.swap(data_);
  event_.id = last_event_id_;
  event_type_.clear();
  data_.clear();
  if (handlers_.on_event) handlers_.on_event(event_);
}

ParseError Parser::fail(ParseError error) {
  error_ = error;
  release(line_);
  release(data_);
  release(event_type_);
  release(bom_prefix_);
  release(event_.name);
  release(event_.data);
  return error_;
}

void Parser::end_of_stream() {
  // WHATWG: pending data is discarded at the end of the stream; the
  // unfinished event's id goes with it (the id buffer returns to the last
  // dispatched id, as a new connection of the same EventSource starts).
  line_.clear();
  data_.clear();
  event_type_.clear();
  bom_prefix_.clear();
  id_buffer_ = last_event_id_;
  after_cr_ = false;
  at_stream_start_ = true;
  error_ = ParseError::none;
}

void Parser::reset() {
  end_of_stream();
  id_buffer_.clear();
  last_event_id_.clear();
}

}  // namespace es
