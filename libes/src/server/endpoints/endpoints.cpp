// SPDX-License-Identifier: GPL-3.0-or-later
#include "server/endpoints/endpoints.hpp"

#include "common/format.hpp"
#include "http/date.hpp"
#include "server/auth/access_token.hpp"
#include "server/auth/authorize.hpp"
#include "http/plain_response.hpp"
#include "server/endpoints/demo_page.hpp"
#include "server/endpoints/http_handoff.hpp"
#include "server/metrics/prometheus.hpp"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <string>

namespace es {
namespace {

using Clock = std::chrono::steady_clock;

thread_local Clock::time_point request_started;

void reply_text(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(message + "\n", "text/plain");
}

std::string body_too_large(std::size_t limit) {
  return "Body too large (limit " + std::to_string(limit) + " bytes)";
}

void reply_published(httplib::Response& res, const PublishResult& r) {
  nlohmann::ordered_json body;
  body["id"] = r.id.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(r.id);
  body["subscribers"] = r.subscribers;
  if (r.stored) body["stored"] = true;
  res.status = r.stored ? 202 : 200;
  res.set_content(body.dump() + "\n", "application/json"); // a shell prompt after curl starts on its own line
}

}  // namespace

void install_endpoints(httplib::Server& http, EndpointContext ctx) {
  const std::size_t max_body = ctx.options.max_body;
  http.set_payload_max_length(max_body);

  http.set_pre_routing_handler([](const httplib::Request&, httplib::Response&) {
    request_started = Clock::now();
    return httplib::Server::HandlerResponse::Unhandled;
  });

  http.Post(R"(/([^/]+)/([^/]+))", [ctx, max_body](const httplib::Request& req, httplib::Response& res) {
    // Checks in upstream's order, but the size first: it needs no parsing.
    if (req.body.size() > max_body) return reply_text(res, 413, body_too_large(max_body));
    const std::string token = req.matches[2].str();
    if (ctx.publish_auth) {
      const std::size_t q = req.target.find('?');
      const std::string_view query = q == std::string::npos ? std::string_view() : std::string_view(req.target).substr(q + 1);
      const auto header = [&](const char* name) -> std::optional<std::string_view> {
        const auto it = req.headers.find(name);
        return it == req.headers.end() ? std::nullopt : std::optional<std::string_view>(it->second);
      };
      const AuthDecision decision = authorize(*ctx.publish_auth, find_access_token(header("Authorization"), header("Cookie"), query),
                                              Permission::publish, token);
      if (!decision.allowed()) {
        if (decision.status == 401) {
          const std::string line = decision.extra_headers.substr(0, decision.extra_headers.size() - 2);
          res.set_header("WWW-Authenticate", line.substr(line.find(": ") + 2));
        }
        return reply_text(res, decision.status, decision.message);
      }
    }
    if (ctx.check_publish && *ctx.check_publish) {
      std::vector<HeaderView> headers;
      for (const auto& [name, value] : req.headers) headers.push_back({name, value});
      const std::string remote = format_address(req.remote_addr, req.remote_port);
      const std::string action = req.matches[1].str();
      PublishInfo info{token, action, remote, headers};
      std::optional<Refusal> refusal;
      try {
        refusal = (*ctx.check_publish)(info);
      } catch (const std::exception& e) {
        ctx.log.error(std::string("check_publish hook threw: ") + e.what());
        refusal = Refusal{500, "Internal server error"};
      }
      if (refusal) return reply_text(res, refusal->status >= 400 && refusal->status <= 599 ? refusal->status : 403, refusal->message);
    }
    const PublishResult r = ctx.publish(token, req.matches[1].str(), req.body);
    switch (r.status) {
      case PublishStatus::published:
      case PublishStatus::queued: return reply_published(res, r); // queued: only from hooks, never here
      case PublishStatus::unknown_action:
      case PublishStatus::not_connected: return reply_text(res, 404, r.message);
      case PublishStatus::bad_data: return reply_text(res, 400, r.message);
      case PublishStatus::not_running: return reply_text(res, 503, r.message);
    }
  });

  // Operators' endpoints: counters and health say how busy the server is
  // and what it holds, so only listed addresses may read them.
  const auto admin_only = [ctx](const httplib::Request& req, httplib::Response& res) {
    if (any_contains(ctx.admin_allow, req.remote_addr)) return true;
    reply_text(res, 403, "Forbidden: " + req.path + " answers only addresses in --admin-allow");
    return false;
  };

  http.Get("/stats", [ctx, admin_only](const httplib::Request& req, httplib::Response& res) {
    if (admin_only(req, res)) res.set_content(ctx.stats_json(), "application/json");
  });

  http.Get("/metrics", [ctx, admin_only](const httplib::Request& req, httplib::Response& res) {
    if (admin_only(req, res)) res.set_content(ctx.metrics(), std::string(prometheus_content_type));
  });

  http.Get("/health", [ctx, admin_only](const httplib::Request& req, httplib::Response& res) {
    if (!admin_only(req, res)) return;
    if (const std::string reason = ctx.unhealthy_reason(); !reason.empty()) return reply_text(res, 503, reason);
    reply_text(res, 200, "ok");
  });

  if (ctx.options.demo) {
    http.Get("/", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(demo_page_html), "text/html; charset=utf-8");
    });
  }

  // GET /poll/TOKEN never gets here: the streaming loop answers it.
  const std::string wrong_listen_action =
      "Unknown listen action: subscribe with GET /" + ctx.options.listen_action + "/TOKEN";
  http.Get(R"(/([^/]+)/([^/]+))", [wrong_listen_action](const httplib::Request&, httplib::Response& res) {
    reply_text(res, 404, wrong_listen_action);
  });

  http.Options(R"(.*)", [](const httplib::Request&, httplib::Response& res) {
    res.status = 204;
    res.set_header("Allow", "GET, POST, OPTIONS");
    res.set_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    // Last-Event-ID: an EventSource that reconnects cross-origin sends it.
    res.set_header("Access-Control-Allow-Headers", "Last-Event-ID, Content-Type, Cache-Control");
    res.set_header("Access-Control-Max-Age", "86400");
  });

  http.set_error_handler([max_body](const httplib::Request&, httplib::Response& res) {
    if (const HandoffStream* s = HttpHandoff::current_stream(); s && s->over_budget()) {
      reply_text(res, 413, body_too_large(max_body));
      return;
    }
    if (!res.body.empty()) return;
    switch (res.status) {
      case 404: return reply_text(res, 404, "Not found");
      case 413: return reply_text(res, 413, body_too_large(max_body));
      case 400: return reply_text(res, 400, "Malformed request");
      default: return reply_text(res, res.status, std::string(reason_phrase(res.status)));
    }
  });

  http.set_post_routing_handler([cors = &ctx.cors](const httplib::Request& req, httplib::Response& res) {
    res.set_header("Date", http::current_http_date());
    auto origin_header = req.get_header_value("Origin");
    std::optional<std::string_view> origin;
    if (req.has_header("Origin")) origin = origin_header;
    if (const CorsHeaders cors_headers = cors->headers_for(origin); !cors_headers.empty()) {
      res.set_header("Access-Control-Allow-Origin", std::string(cors_headers.allow_origin));
      if (cors_headers.vary_origin) res.set_header("Vary", "Origin");
    }
  });

  if (!ctx.log.logs_access()) return;
  http.set_logger([log = &ctx.log](const httplib::Request& req, const httplib::Response& res) {
    log->access(format_address(req.remote_addr, req.remote_port) + " \"" + req.method + " " +
                redact_access_token(req.target) + " " +
              req.version + "\" " + std::to_string(res.status) + " " + std::to_string(res.body.size()) + " " +
              format_duration(Clock::now() - request_started));
  });
}

}  // namespace es
