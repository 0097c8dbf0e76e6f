// SPDX-License-Identifier: GPL-3.0-or-later
#include "cors_policy.hpp"

#include <algorithm>

namespace es {

CorsPolicy::CorsPolicy(std::vector<std::string> origins) {
  for (auto& o : origins) {
    if (o == "*")
      any_ = true;
    else
      origins_.push_back(std::move(o));
  }
}

std::string_view CorsPolicy::allow_origin(std::optional<std::string_view> origin) const {
  if (any_) return "*";
  if (!origin || origin->empty()) return {};
  if (std::find(origins_.begin(), origins_.end(), *origin) != origins_.end()) return *origin;
  return {};
}

}  // namespace es
