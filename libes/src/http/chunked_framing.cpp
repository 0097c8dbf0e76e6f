// SPDX-License-Identifier: GPL-3.0-or-later
#include "http/chunked_framing.hpp"
#include "http/hex_digit.hpp"

#include <algorithm>
#include <limits>

namespace es::http {
ChunkedStatus ChunkedScanner::status() const noexcept {
  switch (step_) {
    case Step::done: return ChunkedStatus::complete;
    case Step::failed: return ChunkedStatus::malformed;
    default: return ChunkedStatus::partial;
  }
}

void ChunkedScanner::end_size_line() noexcept {
  if (size_ == 0) {
    step_ = Step::trailer_start; // last-chunk (RFC 9112, 7.1)
    return;
  }
  data_bytes_ += size_;
  remaining_ = size_;
  step_ = Step::data;
}

ChunkedStatus ChunkedScanner::feed(std::string_view bytes) noexcept {
  std::size_t i = 0;
  while (i < bytes.size() && step_ != Step::done && step_ != Step::failed) {
    const char c = bytes[i];
    switch (step_) {
      case Step::size: {
        const int digit = hex_value(c);
        if (digit >= 0) {
          if (size_ > (std::numeric_limits<std::uint64_t>::max() >> 4)) {
            step_ = Step::failed; // no body has that many bytes
            break;
          }
          size_ = size_ * 16 + static_cast<std::uint64_t>(digit);
          size_has_digits_ = true;
          ++i;
          break;
        }
        if (!size_has_digits_) {
          step_ = Step::failed;
          break;
        }
        ++i;
        if (c == ';' || c == ' ' || c == '\t')
          step_ = Step::extension; // RFC 9112, 7.1.1: chunk-ext, with optional blanks
        else if (c == '\r')
          step_ = Step::size_lf;
        else if (c == '\n')
          end_size_line(); // RFC 9112, 2.2: a bare LF may end a line
        else
          step_ = Step::failed;
        break;
      }
      case Step::extension:
        ++i;
        if (c == '\n') end_size_line();
        break;
      case Step::size_lf:
        ++i;
        if (c == '\n')
          end_size_line();
        else
          step_ = Step::failed;
        break;
      case Step::data: {
        const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, bytes.size() - i));
        i += take;
        remaining_ -= take;
        if (remaining_ == 0) step_ = Step::data_cr;
        break;
      }
      case Step::data_cr:
      case Step::data_lf:
        // The data is followed by exactly CRLF (cpp-httplib insists on it too).
        ++i;
        if (c != (step_ == Step::data_cr ? '\r' : '\n')) {
          step_ = Step::failed;
        } else if (step_ == Step::data_cr) {
          step_ = Step::data_lf;
        } else {
          step_ = Step::size;
          size_ = 0;
          size_has_digits_ = false;
        }
        break;
      case Step::trailer_start:
        ++i;
        if (c == '\r')
          step_ = Step::final_lf;
        else if (c == '\n')
          step_ = Step::done;
        else
          step_ = Step::trailer_line;
        break;
      case Step::trailer_line:
        ++i;
        if (c == '\n') step_ = Step::trailer_start;
        break;
      case Step::final_lf:
        ++i;
        step_ = c == '\n' ? Step::done : Step::failed;
        break;
      case Step::done:
      case Step::failed:
        break;
    }
  }
  scanned_ += i;
  return status();
}

}  // namespace es::http
