// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// The head of an HTTP/1.x response: enough of RFC 9112 to find the status,
// how the body is framed, and whether the connection stays open.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace es::bench {

struct ResponseHead {
  enum class State { incomplete, complete, malformed };
  State state = State::incomplete;
  int status = 0;
  bool chunked = false;                        ///< Transfer-Encoding: chunked
  std::optional<std::uint64_t> content_length;
  bool close = false;                          ///< Connection: close, or HTTP/1.0 without keep-alive
  std::size_t size = 0;                        ///< bytes of the head, blank line included
};

/// Parses the head at the start of `bytes`; `incomplete` until its blank line has arrived.
ResponseHead parse_response_head(std::string_view bytes);

}  // namespace es::bench
