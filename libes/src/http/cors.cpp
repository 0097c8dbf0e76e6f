// SPDX-License-Identifier: GPL-3.0-or-later
#include "http/cors.hpp"

#include <algorithm>

namespace es {

std::string CorsHeaders::lines() const {
  std::string out;
  if (allow_origin.empty()) return out;
  out += "Access-Control-Allow-Origin: ";
  out += allow_origin;
  out += "\r\n";
  if (vary_origin) out += "Vary: Origin\r\n";
  return out;
}

CorsPolicy::CorsPolicy(std::vector<std::string> origins) {
  for (auto& o : origins) {
    if (o == "*")
      any_ = true;
    else
      origins_.push_back(std::move(o));
  }
}

CorsHeaders CorsPolicy::headers_for(std::optional<std::string_view> origin) const {
  if (any_) return {"*", false};
  if (!origin || origin->empty()) return {};
  if (std::find(origins_.begin(), origins_.end(), *origin) != origins_.end()) return {*origin, true};
  return {};
}

}  // namespace es
