// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// The short responses the streaming loop writes itself (refusals, 400, 405,
// 408, 413, 431, 503): a status, a text/plain body of one line, and
// "Connection: close" — the loop closes after sending them — and the Date.

#include <string>
#include <string_view>

namespace es {

/// "Not Found" for 404, and so on; "Unknown" for a status not in the table.
std::string_view reason_phrase(int status) noexcept;

/// A complete response. `message` gets a line end when it lacks one;
/// `extra_headers` are whole lines, each ending in CRLF.
std::string plain_response(int status, std::string_view message, std::string_view extra_headers = {});

}  // namespace es
