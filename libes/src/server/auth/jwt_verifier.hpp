// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// Who may publish to and subscribe to which tokens, as a JWT says (Mercure's
// and Centrifugo's model):
//   {"eventsource": {"publish": ["chat-*"], "subscribe": ["chat-42"]},
//    "exp": 1767225600, "nbf": ...}
// signed with the server's key: an HMAC secret (HS256/384/512) or a PEM
// public key (RS256/384/512 for RSA, ES256/384/512 for EC). The header's
// algorithm must belong to the key's family, checked before any signature
// is: "none" and algorithm confusion (an HMAC signed with a public key's
// text) are refused. Signatures are checked by Debian's libjwt.

#include <es/result.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace es {

/// What a valid token allows.
struct JwtClaims {
  std::vector<std::string> publish;   ///< token patterns
  std::vector<std::string> subscribe; ///< token patterns
  bool may_publish(std::string_view token) const;
  bool may_subscribe(std::string_view token) const;
};

class JwtVerifier {
 public:
  using Clock = std::function<std::chrono::system_clock::time_point()>;

  /// `key`: the HMAC secret, or "@FILE" naming a PEM public key. Throws
  /// std::invalid_argument when the file cannot be read or holds no key.
  explicit JwtVerifier(std::string_view key, Clock clock = {});

  /// The claims of `token`, or why it is refused ("expired", "bad signature", ...).
  Result<JwtClaims> verify(std::string_view token) const;

 private:
  enum class Family { hmac, rsa, ec };
  std::string key_;
  Family family_ = Family::hmac;
  Clock clock_;
};

}  // namespace es
