// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// The request/response endpoints of eventsource-server, served by
// cpp-httplib on handed-off connections:
//   POST /ACTION/TOKEN   publish (200/202 JSON; 400, 404, 413, 503 text)
//   GET  /stats          counters (JSON)
//   GET  /OTHER/TOKEN    404 naming the listen action
//   OPTIONS *            CORS preflight (204)
// plus one-line text/plain bodies for every error and an access log line
// per request.

#include "http/cors.hpp"
#include "common/log.hpp"

#include <es/server.hpp>

#include <functional>
#include <string>
#include <string_view>

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
};

void install_endpoints(httplib::Server& http, EndpointContext context);

}  // namespace es
