// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// The Date header (RFC 9110, 6.6.1: an origin server with a clock sends one
// in every 2xx, 3xx and 4xx response), in the IMF-fixdate form
// "Sun, 06 Nov 1994 08:49:37 GMT". Formatted once a second per thread, so a
// response pays a clock read, not a strftime.

#include <ctime>
#include <string>

namespace es::http {

/// IMF-fixdate of `t` (seconds since the epoch, UTC).
std::string format_http_date(std::time_t t);

/// The current date, refreshed when the second changes (per thread).
const std::string& current_http_date();
/// "Date: <now>\r\n", likewise.
const std::string& date_header_line();

}  // namespace es::http
