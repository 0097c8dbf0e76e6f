// SPDX-License-Identifier: GPL-3.0-or-later
#include "server/auth/jwt_verifier.hpp"

#include "server/auth/glob.hpp"

#include <jwt.h>
#include <nlohmann/json.hpp>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <fstream>
#include <optional>
#include <memory>
#include <sstream>
#include <stdexcept>

namespace es {
namespace {

std::optional<std::string> base64url_decode(std::string_view in) {
  std::string out;
  unsigned value = 0;
  int bits = 0;
  for (const char c : in) {
    int d;
    if (c >= 'A' && c <= 'Z') d = c - 'A';
    else if (c >= 'a' && c <= 'z') d = c - 'a' + 26;
    else if (c >= '0' && c <= '9') d = c - '0' + 52;
    else if (c == '-') d = 62;
    else if (c == '_') d = 63;
    else return std::nullopt;
    value = (value << 6) | static_cast<unsigned>(d);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((value >> bits) & 0xFF);
    }
  }
  return out;
}

std::optional<nlohmann::json> json_part(std::string_view part) {
  const auto text = base64url_decode(part);
  if (!text) return std::nullopt;
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

std::vector<std::string> patterns(const nlohmann::json& claims, const char* name) {
  std::vector<std::string> out;
  if (!claims.contains(name) || !claims[name].is_array()) return out;
  for (const auto& p : claims[name])
    if (p.is_string()) out.push_back(p.get<std::string>());
  return out;
}

}  // namespace

bool JwtClaims::may_publish(std::string_view token) const {
  for (const auto& p : publish)
    if (glob_match(p, token)) return true;
  return false;
}

bool JwtClaims::may_subscribe(std::string_view token) const {
  for (const auto& p : subscribe)
    if (glob_match(p, token)) return true;
  return false;
}

JwtVerifier::JwtVerifier(std::string_view key, Clock clock) : clock_(std::move(clock)) {
  if (!key.starts_with("@")) {
    if (key.empty()) throw std::invalid_argument("an empty JWT key");
    key_ = std::string(key);
    family_ = Family::hmac;
    return;
  }
  const std::string file(key.substr(1));
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::invalid_argument("cannot read the JWT key file " + file);
  std::ostringstream text;
  text << in.rdbuf();
  key_ = text.str();
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(key_.data(), static_cast<int>(key_.size())), BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pkey(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr),
                                                           EVP_PKEY_free);
  if (!pkey) throw std::invalid_argument("the JWT key file " + file + " holds no PEM public key");
  switch (EVP_PKEY_get_base_id(pkey.get())) {
    case EVP_PKEY_RSA: family_ = Family::rsa; break;
    case EVP_PKEY_EC: family_ = Family::ec; break;
    default: throw std::invalid_argument("the JWT key in " + file + " is neither RSA nor EC");
  }
}

Result<JwtClaims> JwtVerifier::verify(std::string_view token) const {
  const std::size_t dot1 = token.find('.');
  const std::size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
    return Failure{"malformed token"};
  const auto header = json_part(token.substr(0, dot1));
  const auto payload = json_part(token.substr(dot1 + 1, dot2 - dot1 - 1));
  if (!header || !payload || !header->contains("alg") || !(*header)["alg"].is_string())
    return Failure{"malformed token"};
  // The algorithm must be the key's: never "none", never an HMAC keyed with
  // a public key's text (algorithm confusion).
  const std::string alg = (*header)["alg"];
  const std::string family = alg.substr(0, 2);
  const bool matches = (family_ == Family::hmac && family == "HS") || (family_ == Family::rsa && family == "RS") ||
                       (family_ == Family::ec && family == "ES");
  if (!matches || (alg.size() != 5) || (alg.substr(2) != "256" && alg.substr(2) != "384" && alg.substr(2) != "512"))
    return Failure{"algorithm " + alg + " is not accepted"};

  jwt_t* decoded = nullptr;
  const std::string text(token);
  const int error = jwt_decode(&decoded, text.c_str(), reinterpret_cast<const unsigned char*>(key_.data()),
                               static_cast<int>(key_.size()));
  std::unique_ptr<jwt_t, decltype(&jwt_free)> owner(decoded, jwt_free);
  if (error != 0 || !decoded) return Failure{"bad signature"};

  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       (clock_ ? clock_() : std::chrono::system_clock::now()).time_since_epoch())
                       .count();
  if (payload->contains("exp")) {
    if (!(*payload)["exp"].is_number()) return Failure{"malformed token"};
    if (static_cast<double>(now) >= (*payload)["exp"].get<double>()) return Failure{"expired"};
  }
  if (payload->contains("nbf")) {
    if (!(*payload)["nbf"].is_number()) return Failure{"malformed token"};
    if (static_cast<double>(now) < (*payload)["nbf"].get<double>()) return Failure{"not valid yet"};
  }
  JwtClaims claims;
  if (payload->contains("eventsource") && (*payload)["eventsource"].is_object()) {
    claims.publish = patterns((*payload)["eventsource"], "publish");
    claims.subscribe = patterns((*payload)["eventsource"], "subscribe");
  }
  return claims;
}

}  // namespace es
