// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// A URL with a `{token}` placeholder in its path, so that one run can target
// eventsource-server (/poll/{token}, /ping/{token}) or nchan (/sub/{token},
// /pub/{token}). Plain http only.

#include <es/result.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace es::bench {

struct UrlTemplate {
  std::string text;         ///< as given, for reports
  std::string host;         ///< name or address, without brackets
  std::uint16_t port = 80;
  std::string path_prefix;  ///< the path before {token} (the whole path if there is none)
  std::string path_suffix;  ///< the path (and query) after {token}
  bool has_token = false;   ///< without {token}, every token gets the same URL
  bool tls = false;         ///< https://

  /// The request target for `token`.
  std::string target(std::string_view token) const;
  /// The value of the Host header.
  std::string host_header() const;

  /// "http[s]://HOST[:PORT]/PATH" where PATH holds `{token}` at most once.
  static Result<UrlTemplate> parse(std::string_view text);
};

}  // namespace es::bench
