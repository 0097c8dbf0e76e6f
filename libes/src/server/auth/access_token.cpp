// SPDX-License-Identifier: GPL-3.0-or-later
#include "server/auth/access_token.hpp"

#include "http/request_head.hpp"
#include "http/request_target.hpp"

namespace es {

std::optional<std::string> find_access_token(std::optional<std::string_view> authorization,
                                             std::optional<std::string_view> cookie, std::string_view query) {
  if (authorization) {
    std::string_view value = *authorization;
    if (value.size() > 7 && http::equals_ignoring_case(value.substr(0, 7), "Bearer ")) {
      value.remove_prefix(7);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      if (!value.empty()) return std::string(value);
    }
  }
  if (cookie) {
    // "a=1; access_token=T; b=2"
    std::string_view rest = *cookie;
    while (!rest.empty()) {
      const std::size_t end = rest.find(';');
      std::string_view pair = rest.substr(0, end);
      while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
      if (pair.starts_with("access_token=") && pair.size() > 13) return std::string(pair.substr(13));
      if (end == std::string_view::npos) break;
      rest.remove_prefix(end + 1);
    }
  }
  if (auto param = http::query_parameter(query, "access_token"); param && !param->empty()) return param;
  return std::nullopt;
}

std::string redact_access_token(std::string_view target) {
  std::string out(target);
  for (std::size_t at = out.find("access_token="); at != std::string::npos; at = out.find("access_token=", at + 1)) {
    if (at > 0 && out[at - 1] != '?' && out[at - 1] != '&') continue;
    const std::size_t value = at + 13;
    const std::size_t end = out.find('&', value);
    out.replace(value, (end == std::string::npos ? out.size() : end) - value, "REDACTED");
  }
  return out;
}

}  // namespace es
