// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// The answer to a request that needs a JWT (--publish-key, --subscribe-key):
// none or a bad one is 401 with WWW-Authenticate: Bearer and the reason
// (RFC 6750, 3); a valid one that does not cover the token is 403.

#include "server/auth/jwt_verifier.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace es {

enum class Permission { publish, subscribe };

struct AuthDecision {
  int status = 0;            ///< 0: allowed; else 401 or 403
  std::string message;       ///< the one-line body
  std::string extra_headers; ///< whole lines (WWW-Authenticate)
  bool allowed() const noexcept { return status == 0; }
};

AuthDecision authorize(const JwtVerifier& verifier, const std::optional<std::string>& jwt, Permission permission,
                       std::string_view token);

}  // namespace es
