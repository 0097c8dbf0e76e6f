// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// A pure HTTP/1.x request-head parser (RFC 9112, section 2-5): bytes in, the
// request line and header fields out, as views into the caller's buffer. No
// sockets, no allocation beyond the header list.
//
// The contract is picohttpparser's: the caller feeds everything received so
// far; the answer is "complete" (with the head's length), "partial" (read
// more) or "malformed" (answer 400 and close).

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

namespace es::http {

struct HeaderField {
  std::string_view name;
  std::string_view value; ///< leading and trailing blanks removed (RFC 9112, 5.1)
};

struct RequestHead {
  std::string_view method;
  std::string_view target;   ///< as sent: path and query
  int minor_version = 1;     ///< HTTP/1.<minor>
  std::vector<HeaderField> fields;

  /// The first field named `name` (case-insensitive, RFC 9110, 5.1), or nullopt.
  std::optional<std::string_view> field(std::string_view name) const;
  /// How many fields are named `name`.
  std::size_t count(std::string_view name) const;
};

enum class HeadStatus {
  complete,  ///< a whole head was parsed; ParsedHead::size bytes belong to it
  partial,   ///< no blank line yet: read more
  malformed, ///< not HTTP/1.x: answer 400 and close
};

struct ParsedHead {
  HeadStatus status = HeadStatus::partial;
  std::size_t size = 0; ///< bytes of the head, final blank line included (complete only)
};

/// Parses the request head at the start of `bytes` into `head` (views into
/// `bytes`). Lines may end in CRLF or a bare LF (RFC 9112, 2.2 allows a
/// recipient to accept LF); empty lines before the request line are skipped
/// (RFC 9112, 2.2). Obsolete line folding is refused as malformed.
ParsedHead parse_request_head(std::string_view bytes, RequestHead& head);

/// Case-insensitive ASCII comparison, as HTTP field names compare.
bool equals_ignoring_case(std::string_view a, std::string_view b) noexcept;

}  // namespace es::http
