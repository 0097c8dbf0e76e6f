// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// A pure, incremental scanner of chunked transfer coding (RFC 9112, 7.1):
// it follows the framing of a request body as its bytes arrive and says
// when the body is complete, without decoding it. The streaming loop
// buffers a chunked body until then, so that the worker that runs
// cpp-httplib on it (which decodes it) never waits for the client.

#include <cstdint>
#include <string_view>

namespace es::http {

enum class ChunkedStatus {
  partial,   ///< the body goes on: feed more
  complete,  ///< the last chunk and the trailer section's blank line were seen
  malformed, ///< not chunked framing: answer 400 and close
};

class ChunkedScanner {
 public:
  /// Scans the next bytes of the body (those after the bytes of earlier
  /// calls). Stops at the body's end: bytes after it (a pipelined request)
  /// are not consumed. Once complete or malformed, further calls change nothing.
  ChunkedStatus feed(std::string_view bytes) noexcept;

  ChunkedStatus status() const noexcept;
  /// Bytes of the body consumed so far; once complete, the body's framed length.
  std::uint64_t scanned() const noexcept { return scanned_; }
  /// The sum of the chunk sizes announced so far (counted when a chunk's
  /// size line ends, before its data arrives): the decoded length once complete.
  std::uint64_t data_bytes() const noexcept { return data_bytes_; }

 private:
  enum class Step {
    size,          ///< hex digits of a chunk size
    extension,     ///< after the size: chunk extensions, up to the line end
    size_lf,       ///< a CR ended the size: LF must follow
    data,          ///< `remaining_` bytes of chunk data
    data_cr,       ///< CRLF after the data
    data_lf,
    trailer_start, ///< start of a trailer line, or the final blank line
    trailer_line,  ///< a trailer field, up to the line end
    final_lf,      ///< a CR began the final blank line: LF must follow
    done,
    failed,
  };

  void end_size_line() noexcept;

  Step step_ = Step::size;
  bool size_has_digits_ = false;
  std::uint64_t size_ = 0;
  std::uint64_t remaining_ = 0;
  std::uint64_t scanned_ = 0;
  std::uint64_t data_bytes_ = 0;
};

}  // namespace es::http
