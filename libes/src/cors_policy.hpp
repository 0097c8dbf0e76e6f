// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// Which browser origins may read the server's responses (Fetch standard,
// CORS protocol): the value of Access-Control-Allow-Origin for a request.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace es {

class CorsPolicy {
 public:
  /// `origins` as configured; "*" allows any origin.
  explicit CorsPolicy(std::vector<std::string> origins);

  bool enabled() const noexcept { return any_ || !origins_.empty(); }
  /// "*" when any origin is allowed, the request's Origin when it is listed,
  /// else "" (no header). The view is into `origin` or static.
  std::string_view allow_origin(std::optional<std::string_view> origin) const;

 private:
  bool any_ = false;
  std::vector<std::string> origins_;
};

}  // namespace es
