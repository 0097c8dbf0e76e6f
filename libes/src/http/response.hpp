// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// A complete HTTP/1.1 response the loop writes itself for a request it
// answers and may keep the connection open after (a POST, /stats, ...).
// Pure apart from the Date line.

#include "http/request_head.hpp"

#include <string>
#include <string_view>

namespace es::http {

struct ResponseSpec {
  int status = 200;
  std::string_view content_type; ///< empty: no body headers beyond Content-Length
  std::string_view body;
  std::string_view extra_headers; ///< whole lines, each ending in CRLF
  bool keep_alive = true;         ///< false: "Connection: close"
  int minor_version = 1;          ///< the request's: HTTP/1.0 keep-alive is said explicitly
};

std::string response(const ResponseSpec& spec);

/// Whether the client wants the connection kept after this request
/// (RFC 9112, 9.3: HTTP/1.1 unless "close"; HTTP/1.0 only with "keep-alive").
bool wants_keep_alive(const RequestHead& head);

}  // namespace es::http
