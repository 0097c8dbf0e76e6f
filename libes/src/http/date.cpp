// SPDX-License-Identifier: GPL-3.0-or-later
#include "http/date.hpp"

#include <cstdio>

namespace es::http {

std::string format_http_date(std::time_t t) {
  // Formatted by hand: strftime's %a and %b follow the locale.
  static constexpr const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[40];
  std::snprintf(text, sizeof text, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday], tm.tm_mday,
                months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return text;
}

namespace {

struct DateCache {
  std::time_t formatted_at = -1;
  std::string date;
  std::string line;

  void refresh() {
    const std::time_t now = std::time(nullptr);
    if (now == formatted_at) return;
    date = format_http_date(now);
    line = "Date: " + date + "\r\n";
    formatted_at = now;
  }
};

DateCache& cache() {
  thread_local DateCache c;
  c.refresh();
  return c;
}

}  // namespace

const std::string& current_http_date() { return cache().date; }

const std::string& date_header_line() { return cache().line; }

}  // namespace es::http
