// SPDX-License-Identifier: GPL-3.0-or-later
// The requests the loop answers itself once it has read them whole: a
// publish (POST /ACTION/TOKEN), /stats, /metrics, /health and the CORS
// preflight. No thread crossing: the event is checked, published and
// answered on the loop that read it, and the connection is kept for the
// next request. What is left (the demo page, 404s for other paths, chunked
// bodies) is handed off to cpp-httplib on a worker (request_intake.cpp).
#include "server/loop/event_loop.hpp"

#include "common/format.hpp"
#include "common/json_string.hpp"
#include "http/request_target.hpp"
#include "http/response.hpp"
#include "server/auth/access_token.hpp"
#include "server/auth/authorize.hpp"
#include "server/metrics/prometheus.hpp"

#include <optional>

namespace es {
namespace {

/// "IP" of "IP:PORT" or "[IP]:PORT".
std::string_view peer_ip(std::string_view remote) {
  if (remote.starts_with('[')) {
    const auto close = remote.find(']');
    return close == std::string_view::npos ? remote : remote.substr(1, close - 1);
  }
  return remote.substr(0, remote.rfind(':'));
}

/// {"id":...,"subscribers":N[,"stored":true]} and a line end (a shell
/// prompt after curl starts on its own line). Hand-made: it is on every publish.
std::string published_body(const PublishResult& r) {
  std::string body = "{\"id\":";
  if (r.id.empty())
    body += "null";
  else
    body += json_string(r.id);
  body += ",\"subscribers\":";
  body += std::to_string(r.subscribers);
  if (r.stored || r.status == PublishStatus::queued) body += ",\"stored\":true";
  body += "}\n";
  return body;
}

}  // namespace

bool EventLoop::serves_here(const http::RequestHead& head) const {
  if (!endpoints_) return false;
  if (head.method == "OPTIONS") return true;
  const auto target = http::split_target(head.target);
  if (!target) return false;
  if (head.method == "GET") return target->path == "/stats" || target->path == "/metrics" || target->path == "/health";
  if (head.method != "POST") return false;
  // Only what decodes to two clean segments; the rest goes to cpp-httplib
  // (in canonical form) and gets its 400/404 there.
  const auto segments = http::two_segments(target->path);
  if (!segments) return false;
  const auto action = http::percent_decode(segments->first);
  const auto token = http::percent_decode(segments->second);
  return action && token && action->find('/') == std::string::npos && token->find('/') == std::string::npos;
}

void EventLoop::finish_request(Connection& c) {
  if (!c.served_here) return hand_off(c);
  // The body came after the head: reading it may have moved the input, so
  // the head is parsed again (a request read whole was served at once).
  http::RequestHead head;
  const http::ParsedHead parsed = http::parse_request_head(c.input, head);
  if (parsed.status != http::HeadStatus::complete) return hand_off(c);
  serve_here(c, head);
}

void EventLoop::serve_here(Connection& c, const http::RequestHead& head) {
  const auto target = http::split_target(head.target);
  if (!target) return hand_off(c);
  const std::string_view body = std::string_view(c.input).substr(c.body_start, c.body_length);

  if (head.method == "OPTIONS") {
    const std::string headers = "Allow: GET, POST, OPTIONS\r\nAccess-Control-Allow-Methods: GET, POST, OPTIONS\r\n"
                                "Access-Control-Allow-Headers: Last-Event-ID, Content-Type, Cache-Control\r\n"
                                "Access-Control-Max-Age: 86400\r\n" +
                                cors_.headers_for(head.field("Origin")).lines();
    return answer(c, head, 204, {}, {}, headers);
  }
  if (head.method == "GET" && (target->path == "/stats" || target->path == "/metrics" || target->path == "/health"))
    return serve_admin(c, head, target->path);
  if (head.method == "POST") {
    if (auto segments = http::two_segments(target->path)) {
      auto action = http::percent_decode(segments->first);
      auto token = http::percent_decode(segments->second);
      if (action && token && token->find('/') == std::string::npos && action->find('/') == std::string::npos)
        return serve_publish(c, head, *action, *token, target->query, body);
    }
  }
  hand_off(c);
}

void EventLoop::answer(Connection& c, const http::RequestHead& head, int status, std::string_view content_type,
                       std::string_view body, std::string_view extra_headers) {
  const bool keep_alive = http::wants_keep_alive(head) && !stopping_;
  const int minor = head.minor_version;
  std::string rest = c.input.substr(std::min(c.input.size(), c.body_start + c.body_length));
  auto bytes = std::make_shared<const std::string>(
      http::response({status, content_type, body, extra_headers, keep_alive, minor}));
  send_answer(c, status, body.size(), std::move(bytes), keep_alive, std::move(rest));
}

void EventLoop::send_answer(Connection& c, int status, std::size_t body_size, SharedBytes bytes, bool keep_alive,
                            std::string rest) {
  if (log_.logs_access()) log_access(c, status, std::to_string(body_size) + " " + format_duration(now_ - c.started));
  c.output.push(std::move(bytes), false);
  if (!keep_alive) {
    c.input.clear();
    c.linger = true;
    start_closing(c);
    return;
  }
  c.state = ConnectionState::reading_head;
  c.request_line.clear();
  c.input = std::move(rest);
  c.deadline = now_ + options_.idle_timeout;
  flush(c);
  // A pipelined next request is taken at the end of the turn (not here:
  // thousands of pipelined requests must not nest), and only once this
  // answer is out (try_request waits for the output to drain).
  if (!c.input.empty()) next_requests_.push_back(QueueRef{c.fd(), c.serial});
}

void EventLoop::take_next_requests() {
  for (std::size_t i = 0; i < next_requests_.size(); ++i) { // grows while it runs
    Connection* c = find(next_requests_[i]);
    if (c && c->state == ConnectionState::reading_head) try_request(*c);
  }
  next_requests_.clear();
}

void EventLoop::serve_admin(Connection& c, const http::RequestHead& head, std::string_view path) {
  const CorsHeaders cors = cors_.headers_for(head.field("Origin"));
  const std::string cors_lines = cors.lines();
  if (!any_contains(endpoints_->admin_allow, peer_ip(c.remote)))
    return answer(c, head, 403, "text/plain",
                  "Forbidden: " + std::string(path) + " answers only addresses in --admin-allow\n", cors_lines);
  if (path == "/stats") return answer(c, head, 200, "application/json", endpoints_->stats_json(), cors_lines);
  if (path == "/metrics") return answer(c, head, 200, prometheus_content_type, endpoints_->metrics(), cors_lines);
  if (const std::string reason = endpoints_->unhealthy_reason(); !reason.empty())
    return answer(c, head, 503, "text/plain", reason + "\n", cors_lines);
  answer(c, head, 200, "text/plain", "ok\n", cors_lines);
}

void EventLoop::serve_publish(Connection& c, const http::RequestHead& head, const std::string& action,
                              const std::string& token, std::string_view query, std::string_view body) {
  const std::string cors_lines = cors_.headers_for(head.field("Origin")).lines();
  const auto text = [&](int status, const std::string& message, const std::string& extra = {}) {
    answer(c, head, status, "text/plain", message + "\n", extra + cors_lines);
  };
  // Checks in upstream's order (the body's size was checked while reading it).
  if (const JwtVerifier* auth = endpoints_->publish_auth) {
    const AuthDecision decision = authorize(
        *auth, find_access_token(head.field("Authorization"), head.field("Cookie"), query), Permission::publish, token);
    if (!decision.allowed()) return text(decision.status, decision.message, decision.extra_headers);
  }
  if (endpoints_->check_publish && *endpoints_->check_publish) {
    std::vector<HeaderView> headers;
    headers.reserve(head.fields.size());
    for (const auto& f : head.fields) headers.push_back({f.name, f.value});
    const PublishInfo info{token, action, c.remote, headers};
    std::optional<Refusal> refusal;
    try {
      refusal = (*endpoints_->check_publish)(info);
    } catch (const std::exception& e) {
      log_.error(std::string("check_publish hook threw: ") + e.what());
      refusal = Refusal{500, "Internal server error"};
    }
    if (refusal) return text(refusal->status >= 400 && refusal->status <= 599 ? refusal->status : 403, refusal->message);
  }
  if (!options_.kind.allows(action)) return text(404, "Unknown action requested");
  auto event = options_.kind.make_event(action, body);
  if (!event) return text(400, "Data is not properly formatted: " + event.error());

  // The answer may come now (memory store, nothing queued ahead) or later
  // (queues to write first, Redis): then the connection waits off the poller.
  struct Pending {
    bool in_call = true;
    std::optional<PublishResult> result;
  };
  auto pending = std::make_shared<Pending>();
  const bool keep_alive = http::wants_keep_alive(head);
  const int minor = head.minor_version;
  std::string rest = c.input.substr(std::min(c.input.size(), c.body_start + c.body_length));
  const QueueRef ref{c.fd(), c.serial};
  auto reply = [this, pending, ref, keep_alive, minor, cors_lines](PublishResult r) mutable {
    if (pending->in_call) {
      pending->result = std::move(r);
      return;
    }
    Connection* waiting = find(ref);
    if (!waiting || waiting->state != ConnectionState::handed_off || !waiting->parked) return;
    waiting->parked = false;
    --handed_off_;
    if (!waiting->in_poller && !watch(*waiting)) return;
    deliver_answer(*waiting, r, keep_alive && !stopping_, minor, cors_lines, std::move(waiting->input));
  };
  publish_from_loop(token, std::move(event).value(), action == close_action, std::move(reply));
  pending->in_call = false;
  if (pending->result)
    return deliver_answer(c, *pending->result, keep_alive && !stopping_, minor, cors_lines, std::move(rest));
  // Park it: the loop reads nothing more from it until the answer is
  // written. It leaves the poller only if something comes from it meanwhile
  // (on_event): most answers come before that, and two epoll_ctl calls per
  // publish were a tenth of the loop's system calls.
  c.state = ConnectionState::handed_off;
  ++handed_off_;
  c.parked = true;
  c.input = std::move(rest);
}

void EventLoop::deliver_answer(Connection& c, const PublishResult& r, bool keep_alive, int minor,
                               const std::string& cors_lines, std::string rest) {
  int status = 0;
  std::string body;
  std::string_view type = "text/plain";
  switch (r.status) {
    case PublishStatus::published:
    case PublishStatus::queued:
      status = r.stored || r.status == PublishStatus::queued ? 202 : 200;
      body = published_body(r);
      type = "application/json";
      break;
    case PublishStatus::unknown_action:
    case PublishStatus::not_connected: status = 404; break;
    case PublishStatus::bad_data: status = 400; break;
    case PublishStatus::not_running: status = 503; break;
  }
  if (body.empty()) body = r.message + "\n";
  auto bytes = std::make_shared<const std::string>(http::response({status, type, body, cors_lines, keep_alive, minor}));
  send_answer(c, status, body.size(), std::move(bytes), keep_alive, std::move(rest));
}

void EventLoop::publish_from_loop(std::string_view token, Event event, bool close_after,
                                  std::function<void(PublishResult)> reply) {
  if (!is_home()) {
    // The broker is on the home loop; its answer comes back here.
    auto back = [this, reply](PublishResult r) mutable {
      here([reply = std::move(reply), r = std::move(r)]() mutable { reply(std::move(r)); });
    };
    const bool sent = at_home([token = std::string(token), event = std::move(event), close_after,
                               back](EventLoop& home) mutable {
      home.publish_from_loop(token, std::move(event), close_after, std::move(back));
    });
    if (!sent) {
      PublishResult r;
      r.status = PublishStatus::not_running;
      r.message = "Server is shutting down";
      reply(std::move(r));
    }
    return;
  }
  // As publish_on_loop: the publisher hears back once everything queued
  // before its event on this loop has been written out (FanoutScheduler).
  const std::uint64_t ahead = scheduler_.marks_made();
  broker_.publish(token, std::move(event), close_after,
                  [this, ahead, reply = std::move(reply)](PublishResult result) mutable {
                    counters_.set(Counter::events_published, broker_.published());
                    if (result)
                      scheduler_.answer_after(ahead, std::move(reply), std::move(result), remote_backlog_mark());
                    else
                      reply(std::move(result));
                  });
}

}  // namespace es
