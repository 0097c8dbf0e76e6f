// SPDX-License-Identifier: GPL-3.0-or-later
#include "http/request_target.hpp"
#include "http/hex_digit.hpp"

namespace es::http {
std::optional<OriginTarget> split_target(std::string_view target) {
  if (target.empty() || target.front() != '/') return std::nullopt;
  auto q = target.find('?');
  if (q == std::string_view::npos) return OriginTarget{target, {}};
  return OriginTarget{target.substr(0, q), target.substr(q + 1)};
}

std::optional<TwoSegments> two_segments(std::string_view path) {
  if (path.size() < 4 || path.front() != '/') return std::nullopt;
  auto slash = path.find('/', 1);
  if (slash == std::string_view::npos) return std::nullopt;
  auto first = path.substr(1, slash - 1);
  auto second = path.substr(slash + 1);
  if (first.empty() || second.empty() || second.find('/') != std::string_view::npos) return std::nullopt;
  return TwoSegments{first, second};
}

std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = hex_value(s[i + 1]);
      int lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::optional<std::string> query_parameter(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    auto eq = pair.find('=');
    auto key = pair.substr(0, eq);
    if (key != name) continue;
    auto value = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    return percent_decode(value, true);
  }
  return std::nullopt;
}

}  // namespace es::http
