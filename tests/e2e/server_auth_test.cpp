// SPDX-License-Identifier: GPL-3.0-or-later
// eventsource-server with --publish-key / --subscribe-key: JWTs minted with
// scripts/make-jwt (the documented way), every refusal, the three places a
// token may be, hooks after the check, and an access log without tokens.

#include "raw_http.hpp"
#include "server_process.hpp"

#include <doctest/doctest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace {

using namespace es::test;
using nlohmann::json;

std::string make_jwt(std::vector<std::string> args) {
  std::vector<std::string> argv = {std::string(ES_SOURCE_DIR) + "/scripts/make-jwt"};
  argv.insert(argv.end(), args.begin(), args.end());
  Process p(argv);
  REQUIRE(p.wait_exit(20s) == 0);
  std::string token = p.out();
  while (!token.empty() && token.back() == '\n') token.pop_back();
  return token;
}

}  // namespace

TEST_CASE("server: --publish-key: no JWT, a bad one, an expired one are 401 with WWW-Authenticate, one for another token 403") {
  Server srv({"--publish-key", "s3cret"});
  INFO("server log:\n" << srv.log());
  auto s = srv.subscribe("/poll/chat-1");
  auto c = srv.client();

  auto none = c.Post("/ping/chat-1", "x", "text/plain");
  REQUIRE_RESPONSE(none);
  CHECK(none->status == 401);
  CHECK(none->get_header_value("WWW-Authenticate") == "Bearer realm=\"eventsource\"");
  CHECK(none->body == "a JWT is needed (Authorization: Bearer, an access_token cookie or ?access_token=)\n");

  const std::string wrong_key = make_jwt({"--key", "other", "--publish", "chat-*"});
  auto bad = c.Post("/ping/chat-1", {{"Authorization", "Bearer " + wrong_key}}, "x", "text/plain");
  REQUIRE_RESPONSE(bad);
  CHECK(bad->status == 401);
  CHECK(bad->body == "the JWT is refused: bad signature\n");
  CHECK(bad->get_header_value("WWW-Authenticate") ==
        "Bearer realm=\"eventsource\", error=\"invalid_token\", error_description=\"bad signature\"");

  const std::string expired = make_jwt({"--key", "s3cret", "--publish", "chat-*", "--expires", "-10"});
  const std::string other = make_jwt({"--key", "s3cret", "--publish", "room-*"});
  auto forbidden = c.Post("/ping/chat-1", {{"Authorization", "Bearer " + other}}, "x", "text/plain");
  REQUIRE_RESPONSE(forbidden);
  CHECK(forbidden->status == 403);
  CHECK(forbidden->body == "the JWT does not allow publishing to chat-1\n");

  const std::string good = make_jwt({"--key", "s3cret", "--publish", "chat-*"});
  auto ok = c.Post("/ping/chat-1", {{"Authorization", "Bearer " + good}}, "hello", "text/plain");
  REQUIRE_RESPONSE(ok);
  CHECK(ok->status == 200);
  REQUIRE(read_events(*s, 1));
  CHECK(s->body() == wire("ping", "hello"));

  auto late = c.Post("/ping/chat-1", {{"Authorization", "Bearer " + expired}}, "x", "text/plain");
  REQUIRE_RESPONSE(late);
  CHECK(late->status == 401);
  CHECK(late->body == "the JWT is refused: expired\n");
  // Nothing refused was delivered.
  CHECK(srv.stats()["events_published"] == 1);
}

TEST_CASE("server: --subscribe-key: the JWT from the header, the access_token cookie or query, never in the log") {
  Server srv({"--subscribe-key", "s3cret", "--cors-origin", "https://a.example"});
  INFO("server log:\n" << srv.log());
  const std::string jwt = make_jwt({"--key", "s3cret", "--subscribe", "chat-42", "--subscribe", "room-?"});

  const RawResponse missing = raw_get_response(srv.port(), "/poll/chat-42", {"Origin: https://a.example"});
  CHECK(missing.status == 401);
  CHECK(*header(missing.head, "WWW-Authenticate") == "Bearer realm=\"eventsource\"");
  CHECK(*header(missing.head, "Access-Control-Allow-Origin") == "https://a.example");
  const RawResponse other = raw_get_response(srv.port(), "/poll/chat-43?access_token=" + jwt);
  CHECK(other.status == 403);
  CHECK(other.body == "the JWT does not allow subscribing to chat-43\n");

  auto by_header = srv.subscribe("/poll/chat-42", {"Authorization: Bearer " + jwt});
  auto by_cookie = srv.subscribe("/poll/room-7", {"Cookie: theme=dark; access_token=" + jwt});
  auto by_query = srv.subscribe("/poll/chat-42?access_token=" + jwt);
  REQUIRE_RESPONSE(srv.post("/ping/chat-42", "hi"));
  REQUIRE(read_events(*by_header, 1));
  REQUIRE(read_events(*by_query, 1));
  CHECK(srv.stats()["subscribers"] == 3);
  REQUIRE(srv.stop() == 0);
  CHECK(srv.log().find(jwt) == std::string::npos);
  CHECK(srv.log().find("access_token=REDACTED") != std::string::npos);
}

TEST_CASE("server: eventsource-client and eventsource-request take --jwt") {
  Server srv({"--publish-key", "s3cret", "--subscribe-key", "s3cret"});
  const std::string jwt = make_jwt({"--key", "s3cret", "--publish", "t", "--subscribe", "t"});
  Process client({program_path("eventsource-client"), "-P", std::to_string(srv.port()), "--jwt", jwt, "t", "-n", "1",
                  "--data-only"});
  REQUIRE(wait_until([&] { return srv.stats()["subscribers"] == 1; }));
  Process request({program_path("eventsource-request"), "-P", std::to_string(srv.port()), "--jwt", jwt, "t", "ping",
                   "with a jwt"});
  CHECK(request.wait_exit(20s) == 0);
  CHECK(client.wait_exit(20s) == 0);
  CHECK(client.out() == "with a jwt\n");
}
