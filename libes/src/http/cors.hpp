// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// Which browser origins may read the server's responses (Fetch standard,
// CORS protocol), and the one place where the response headers that say so
// are decided: Access-Control-Allow-Origin, and Vary: Origin whenever the
// answer depends on the request's Origin (a listed origin echoed back), so
// a shared cache never hands one origin's answer to another.
//
// Every response goes through here: stream heads, publish answers,
// refusals (403, 405, 423, 503, ...) and preflights.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace es {

/// The CORS headers of one response. Views into the request or static.
struct CorsHeaders {
  std::string_view allow_origin; ///< empty: no CORS headers at all
  bool vary_origin = false;      ///< add "Vary: Origin"

  bool empty() const noexcept { return allow_origin.empty(); }
  /// The header lines ("Name: value\r\n" each), or "" when empty().
  std::string lines() const;
};

class CorsPolicy {
 public:
  /// `origins` as configured; "*" allows any origin.
  explicit CorsPolicy(std::vector<std::string> origins);

  bool enabled() const noexcept { return any_ || !origins_.empty(); }
  /// The headers for a request whose Origin header is `origin` (nullopt:
  /// none): "*" when any origin is allowed, the origin itself (with Vary)
  /// when it is listed, else nothing.
  CorsHeaders headers_for(std::optional<std::string_view> origin) const;

 private:
  bool any_ = false;
  std::vector<std::string> origins_;
};

}  // namespace es
