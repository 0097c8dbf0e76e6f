// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// The request/response endpoints of eventsource-server, served by
// cpp-httplib on handed-off connections:
//   POST /ACTION/TOKEN   publish (200/202 JSON; 400, 404, 413, 503 text)
//   GET  /stats          counters (JSON)                  \  only from --admin-allow
//   GET  /metrics        Prometheus text format            |  addresses (403 from
//   GET  /health         200 "ok" or 503 with the reason   /  others)
//   GET  /OTHER/TOKEN    404 naming the listen action
//   OPTIONS *            CORS preflight (204)
//   GET  /               the demo page (--demo)
// plus one-line text/plain bodies for every error and an access log line
// per request.

#include "common/log.hpp"
#include "http/cors.hpp"
#include "net/cidr.hpp"
#include "server/auth/jwt_verifier.hpp"

#include <es/server.hpp>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace httplib {
class Server;
}

namespace es {

struct EndpointContext {
  const ServerOptions& options;
  const CorsPolicy& cors;
  const Log& log;
  std::function<PublishResult(std::string_view token, std::string_view action, std::string_view body)> publish;
  std::function<std::string()> stats_json; ///< the body of GET /stats
  std::function<std::string()> metrics;    ///< the body of GET /metrics
  /// Why the server cannot serve now, or "" when it can (GET /health).
  std::function<std::string()> unhealthy_reason;
  /// Who may read /stats, /metrics and /health.
  std::vector<Cidr> admin_allow;
  /// --publish-key: POSTs need a JWT that allows the token (null: open).
  const JwtVerifier* publish_auth = nullptr;
  /// The embedder's on_check_publish (empty: none).
  const Server::CheckPublish* check_publish = nullptr;
};

void install_endpoints(httplib::Server& http, EndpointContext context);

}  // namespace es
