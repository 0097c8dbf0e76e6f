// SPDX-License-Identifier: GPL-3.0-or-later
#include "chunked_decoder.hpp"

namespace es::bench {

namespace {
int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

void ChunkedDecoder::step(char c) noexcept {
  switch (state_) {
    case State::size: {
      const int value = hex_value(c);
      if (value >= 0) {
        // 16 hex digits fill 64 bits; more is no real chunk.
        if (++digits_ > 16) { state_ = State::failed; return; }
        remaining_ = remaining_ * 16 + static_cast<std::uint64_t>(value);
        return;
      }
      if (digits_ == 0) { state_ = State::failed; return; }
      if (c == '\n') break;
      state_ = State::extension;  // chunk-ext, whitespace or the CR before LF
      return;
    }
    case State::extension:
      if (c == '\n') break;
      return;
    case State::data_end:
      // The CRLF after a chunk's data (a bare LF is tolerated).
      if (c == '\r') return;
      if (c != '\n') { state_ = State::failed; return; }
      state_ = State::size;
      remaining_ = 0;
      digits_ = 0;
      return;
    case State::trailer:
      if (c == '\n') {
        if (line_empty_) state_ = State::done;
        line_empty_ = true;
      } else if (c != '\r') {
        line_empty_ = false;
      }
      return;
    case State::data:
    case State::done:
    case State::failed:
      return;
  }
  // The end of a chunk-size line.
  digits_ = 0;
  if (remaining_ == 0) {
    state_ = State::trailer;
    line_empty_ = true;
  } else {
    state_ = State::data;
  }
}

}  // namespace es::bench
