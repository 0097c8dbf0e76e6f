// SPDX-License-Identifier: GPL-3.0-or-later
#include "http/date.hpp"

#include <doctest/doctest.h>

TEST_CASE("http date: IMF-fixdate as RFC 9110 spells it, whatever the locale") {
  CHECK(es::http::format_http_date(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT"); // the RFC's example
  CHECK(es::http::format_http_date(0) == "Thu, 01 Jan 1970 00:00:00 GMT");
  CHECK(es::http::format_http_date(951782400) == "Tue, 29 Feb 2000 00:00:00 GMT");
}

TEST_CASE("http date: the header line carries the current date") {
  const std::string& line = es::http::date_header_line();
  CHECK(line.rfind("Date: ", 0) == 0);
  CHECK(line.size() == 6 + 29 + 2);
  CHECK(line.substr(line.size() - 2) == "\r\n");
  CHECK(line.substr(6, 29) == es::http::current_http_date());
}
