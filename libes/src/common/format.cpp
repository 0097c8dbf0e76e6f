// SPDX-License-Identifier: GPL-3.0-or-later
#include "common/format.hpp"

#include <cstdio>

namespace es {

std::string format_duration(std::chrono::nanoseconds d) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  char buf[32];
  if (us < 1000)
    std::snprintf(buf, sizeof buf, "%lldus", static_cast<long long>(us));
  else if (us < 1000000)
    std::snprintf(buf, sizeof buf, "%.1fms", static_cast<double>(us) / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(us) / 1e6);
  return buf;
}

std::string format_host(std::string_view host) {
  std::string out;
  const bool ipv6 = host.find(':') != std::string_view::npos;
  if (ipv6) out += '[';
  out += host;
  if (ipv6) out += ']';
  return out;
}

std::string format_address(std::string_view host, int port) { return format_host(host) + ":" + std::to_string(port); }

}  // namespace es
