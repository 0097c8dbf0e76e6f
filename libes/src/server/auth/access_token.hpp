// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// Where a request's JWT is: "Authorization: Bearer T", or for browsers
// (EventSource cannot set headers) a cookie "access_token=T" or the query
// parameter "access_token=T". And the request target as logged, with that
// parameter's value replaced: the access log never shows a token. Pure.

#include <optional>
#include <string>
#include <string_view>

namespace es {

std::optional<std::string> find_access_token(std::optional<std::string_view> authorization,
                                             std::optional<std::string_view> cookie, std::string_view query);

/// `target` with the value of every access_token parameter replaced by "REDACTED".
std::string redact_access_token(std::string_view target);

}  // namespace es
