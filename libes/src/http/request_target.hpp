// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// The request-target of an origin-form request (RFC 9112, 3.2.1):
// "/action/token?query". Pure functions over views.

#include <optional>
#include <string>
#include <string_view>

namespace es::http {

struct OriginTarget {
  std::string_view path;  ///< from the leading '/' up to '?' or the end
  std::string_view query; ///< after '?', or empty
};

/// Splits "/path?query"; nullopt unless the target starts with '/'.
std::optional<OriginTarget> split_target(std::string_view target);

/// The two segments of "/first/second" (both non-empty, still encoded);
/// nullopt for any other shape.
struct TwoSegments {
  std::string_view first;
  std::string_view second;
};
std::optional<TwoSegments> two_segments(std::string_view path);

/// Percent-decoding (RFC 3986, 2.1). `plus_is_space` decodes '+' as a blank,
/// as form-encoded query strings do. nullopt for a '%' not followed by two
/// hex digits.
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space = false);

/// The decoded value of the first `name=value` pair of a query string, or
/// nullopt when absent or badly encoded.
std::optional<std::string> query_parameter(std::string_view query, std::string_view name);

}  // namespace es::http
