// SPDX-License-Identifier: GPL-3.0-or-later
// Who may publish and subscribe: glob patterns, JWT verification (with a
// fixed clock), where a token is found, and the access log's redaction.
#include "server/auth/access_token.hpp"
#include "server/auth/authorize.hpp"
#include "server/auth/glob.hpp"
#include "server/auth/jwt_verifier.hpp"

#include <doctest/doctest.h>
#include <jwt.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include <unistd.h>

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::system_clock;

const Clock::time_point now = Clock::time_point(std::chrono::seconds(1'800'000'000));

/// A JWT with `claims` (JSON) signed with `alg` and `key` by libjwt.
std::string mint(const std::string& claims, jwt_alg_t alg, const std::string& key) {
  jwt_t* raw = nullptr;
  REQUIRE(jwt_new(&raw) == 0);
  std::unique_ptr<jwt_t, decltype(&jwt_free)> token(raw, jwt_free);
  REQUIRE(jwt_add_grants_json(raw, claims.c_str()) == 0);
  REQUIRE(jwt_set_alg(raw, alg, reinterpret_cast<const unsigned char*>(key.data()), static_cast<int>(key.size())) == 0);
  char* text = jwt_encode_str(raw);
  REQUIRE(text != nullptr);
  std::string out(text);
  std::free(text);
  return out;
}

std::string base64url(std::string_view in) {
  static const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  unsigned value = 0;
  int bits = 0;
  for (unsigned char c : in) {
    value = (value << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += table[(value >> bits) & 63];
    }
  }
  if (bits > 0) out += table[(value << (6 - bits)) & 63];
  return out;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

es::JwtVerifier hmac(const std::string& secret) {
  return es::JwtVerifier(secret, [] { return now; });
}

const std::string chat = R"({"eventsource":{"publish":["chat-*"],"subscribe":["chat-42","room-?"]}})";

}  // namespace

TEST_CASE("auth glob: * is any run, ? one byte, the rest literal") {
  CHECK(es::glob_match("chat-*", "chat-42"));
  CHECK(es::glob_match("chat-*", "chat-"));
  CHECK_FALSE(es::glob_match("chat-*", "chat"));
  CHECK(es::glob_match("room-?", "room-1"));
  CHECK_FALSE(es::glob_match("room-?", "room-12"));
  CHECK(es::glob_match("*", ""));
  CHECK(es::glob_match("a*b*c", "a-x-b-y-c"));
  CHECK_FALSE(es::glob_match("a*b*c", "a-x-b-y"));
  CHECK(es::glob_match("exact", "exact"));
  CHECK_FALSE(es::glob_match("exact", "exactly"));
  // A pattern built to be slow is linear here.
  CHECK_FALSE(es::glob_match(std::string(50, '*') + "b", std::string(10000, 'a')));
}

TEST_CASE("auth jwt: an HS256 token's claims allow exactly their patterns") {
  const auto claims = hmac("s3cret").verify(mint(chat, JWT_ALG_HS256, "s3cret"));
  REQUIRE(claims);
  CHECK(claims->may_publish("chat-1"));
  CHECK_FALSE(claims->may_publish("room-1"));
  CHECK(claims->may_subscribe("chat-42"));
  CHECK(claims->may_subscribe("room-7"));
  CHECK_FALSE(claims->may_subscribe("chat-43"));
  // HS384 and HS512 with the same secret too.
  CHECK(hmac("s3cret").verify(mint(chat, JWT_ALG_HS512, "s3cret")));
}

TEST_CASE("auth jwt: a wrong secret, a changed payload, a malformed token are refused with the reason") {
  CHECK(hmac("s3cret").verify(mint(chat, JWT_ALG_HS256, "other")).error() == "bad signature");
  std::string token = mint(chat, JWT_ALG_HS256, "s3cret");
  const auto dot1 = token.find('.'), dot2 = token.rfind('.');
  token.replace(dot1 + 1, dot2 - dot1 - 1, base64url(R"({"eventsource":{"publish":["*"]}})"));
  CHECK(hmac("s3cret").verify(token).error() == "bad signature");
  CHECK(hmac("s3cret").verify("not a jwt").error() == "malformed token");
  CHECK(hmac("s3cret").verify("a.b.c.d").error() == "malformed token");
}

TEST_CASE("auth jwt: exp and nbf against the clock") {
  const auto at = [](long exp) { return R"({"eventsource":{"publish":["*"]},"exp":)" + std::to_string(exp) + "}"; };
  CHECK(hmac("k").verify(mint(at(1'800'000'001), JWT_ALG_HS256, "k")));
  CHECK(hmac("k").verify(mint(at(1'800'000'000), JWT_ALG_HS256, "k")).error() == "expired");
  CHECK(hmac("k").verify(mint(R"({"nbf":1800000001})", JWT_ALG_HS256, "k")).error() == "not valid yet");
  CHECK(hmac("k").verify(mint(R"({"nbf":1800000000})", JWT_ALG_HS256, "k")));
}

TEST_CASE("auth jwt: alg none and algorithm confusion are refused before any signature is checked") {
  const std::string none = base64url(R"({"alg":"none","typ":"JWT"})") + "." + base64url(chat) + ".";
  CHECK(hmac("k").verify(none).error() == "algorithm none is not accepted");

  // An RSA public key configured; a token "signed" with HS256 keyed by the
  // public key's own PEM text must not pass.
  const auto dir = std::filesystem::temp_directory_path() / ("es-jwt-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string d = dir.string() + "/";
  REQUIRE(std::system(("openssl genrsa -out " + d + "rsa.key 2048 >/dev/null 2>&1 && openssl rsa -in " + d +
                       "rsa.key -pubout -out " + d + "rsa.pub >/dev/null 2>&1")
                          .c_str()) == 0);
  const std::string pem = read_all(d + "rsa.pub");
  const std::string private_key = read_all(d + "rsa.key");
  const es::JwtVerifier rsa("@" + d + "rsa.pub", [] { return now; });
  CHECK(rsa.verify(mint(chat, JWT_ALG_HS256, pem)).error() == "algorithm HS256 is not accepted");
  const auto signed_rs = rsa.verify(mint(chat, JWT_ALG_RS256, private_key));
  CHECK(signed_rs);
  CHECK(signed_rs->may_publish("chat-9"));
  CHECK_THROWS_WITH_AS(es::JwtVerifier("@" + d + "missing.pem"), ("cannot read the JWT key file " + d + "missing.pem").c_str(),
                       std::invalid_argument);
  CHECK_THROWS_AS(es::JwtVerifier("@" + d + "rsa.key"), std::invalid_argument); // a private key is no public key
  std::filesystem::remove_all(dir);
}

TEST_CASE("auth: the token is taken from Authorization: Bearer, then the access_token cookie, then the query") {
  CHECK(es::find_access_token("Bearer abc", std::nullopt, "") == "abc");
  CHECK(es::find_access_token("bearer  abc", std::nullopt, "") == "abc");
  CHECK(es::find_access_token("Basic xyz", "x=1; access_token=fromcookie; y=2", "") == "fromcookie");
  CHECK(es::find_access_token(std::nullopt, std::nullopt, "lastEventId=4&access_token=q%2Dt") == "q-t");
  CHECK_FALSE(es::find_access_token(std::nullopt, "other=1", "a=b").has_value());
}

TEST_CASE("auth: the access log's target never shows a token") {
  CHECK(es::redact_access_token("/poll/T?access_token=secret") == "/poll/T?access_token=REDACTED");
  CHECK(es::redact_access_token("/poll/T?a=1&access_token=secret&b=2") == "/poll/T?a=1&access_token=REDACTED&b=2");
  CHECK(es::redact_access_token("/poll/T?my_access_token=keep") == "/poll/T?my_access_token=keep");
}

TEST_CASE("auth: 401 with WWW-Authenticate for no or a bad JWT, 403 for one that does not cover the token") {
  const auto verifier = hmac("k");
  const auto missing = es::authorize(verifier, std::nullopt, es::Permission::subscribe, "chat-42");
  CHECK(missing.status == 401);
  CHECK(missing.extra_headers == "WWW-Authenticate: Bearer realm=\"eventsource\"\r\n");
  const auto expired = es::authorize(verifier, mint(R"({"exp":1})", JWT_ALG_HS256, "k"), es::Permission::publish, "x");
  CHECK(expired.status == 401);
  CHECK(expired.message == "the JWT is refused: expired");
  CHECK(expired.extra_headers ==
        "WWW-Authenticate: Bearer realm=\"eventsource\", error=\"invalid_token\", error_description=\"expired\"\r\n");
  const auto other = es::authorize(verifier, mint(chat, JWT_ALG_HS256, "k"), es::Permission::subscribe, "chat-43");
  CHECK(other.status == 403);
  CHECK(other.message == "the JWT does not allow subscribing to chat-43");
  CHECK(es::authorize(verifier, mint(chat, JWT_ALG_HS256, "k"), es::Permission::publish, "chat-43").allowed());
}
