// SPDX-License-Identifier: GPL-3.0-or-later
#include "server/auth/authorize.hpp"

namespace es {

AuthDecision authorize(const JwtVerifier& verifier, const std::optional<std::string>& jwt, Permission permission,
                       std::string_view token) {
  AuthDecision d;
  if (!jwt) {
    d.status = 401;
    d.message = "a JWT is needed (Authorization: Bearer, an access_token cookie or ?access_token=)";
    d.extra_headers = "WWW-Authenticate: Bearer realm=\"eventsource\"\r\n";
    return d;
  }
  const auto claims = verifier.verify(*jwt);
  if (!claims) {
    d.status = 401;
    d.message = "the JWT is refused: " + claims.error();
    d.extra_headers = "WWW-Authenticate: Bearer realm=\"eventsource\", error=\"invalid_token\", error_description=\"" +
                      claims.error() + "\"\r\n";
    return d;
  }
  const bool covered = permission == Permission::publish ? claims->may_publish(token) : claims->may_subscribe(token);
  if (!covered) {
    d.status = 403;
    d.message = std::string("the JWT does not allow ") +
                (permission == Permission::publish ? "publishing to " : "subscribing to ") + std::string(token);
  }
  return d;
}

}  // namespace es
