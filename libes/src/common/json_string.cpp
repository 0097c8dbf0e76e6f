// SPDX-License-Identifier: GPL-3.0-or-later
#include "common/json_string.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace es {

std::string json_string(std::string_view text) {
  const bool plain = std::all_of(text.begin(), text.end(), [](char ch) {
    const auto u = static_cast<unsigned char>(ch);
    return u >= 0x20 && u < 0x7f && ch != '"' && ch != '\\';
  });
  if (plain) {
    std::string quoted;
    quoted.reserve(text.size() + 2);
    quoted += '"';
    quoted += text;
    quoted += '"';
    return quoted;
  }
  return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace es
