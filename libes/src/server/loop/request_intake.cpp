// SPDX-License-Identifier: GPL-3.0-or-later
// Requests as the loop reads them: the head, routing (subscriptions stay on
// the loop; everything else is read whole, body included, and handed off
// to a worker), the body's framing and limits, and the short answers the
// loop writes itself.
#include "server/loop/event_loop.hpp"

#include "common/format.hpp"
#include "http/body_budget.hpp"
#include "http/plain_response.hpp"
#include "http/request_target.hpp"
#include "server/auth/access_token.hpp"
#include "server/loop/loop_limits.hpp"

#include <charconv>
#include <cstring>
#include <optional>

namespace es {
namespace {

std::string body_too_large(std::size_t max_body) {
  return "Body too large (limit " + std::to_string(max_body) + " bytes)";
}

std::string head_too_large() {
  return "Request head too large (limit " + std::to_string(loop_limits::max_head_bytes) + " bytes)";
}

std::optional<std::size_t> parse_content_length(std::string_view s) {
  std::size_t value = 0;
  if (s.empty()) return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return value;
}

}  // namespace

void EventLoop::read_head(Connection& c) {
  for (int i = 0; i < loop_limits::reads_per_turn && c.input.size() <= loop_limits::max_head_bytes; ++i) {
    IoResult r = c.io->read(scratch_.data(), scratch_.size());
    if (r.status == IoStatus::would_block) break;
    if (r.status != IoStatus::ok) {
      if (log_.debugging() && !c.input.empty())
        log_.debug(c.remote + " closed the connection in the middle of a request head");
      destroy(c);
      return;
    }
    c.input.append(scratch_.data(), r.bytes);
    if (r.bytes < scratch_.size() && !c.io->has_buffered_input()) break;
  }
  try_request(c);
}

void EventLoop::try_request(Connection& c) {
  if (c.input.empty()) return;
  if (!c.output.empty()) {
    // The previous answer is not out yet (a client slow to read): the next
    // request waits, and so does reading, until flush() has written it.
    if (!c.reads_paused) {
      c.reads_paused = true;
      update_events(c);
    }
    return;
  }
  http::RequestHead head;
  const http::ParsedHead parsed = http::parse_request_head(c.input, head);
  switch (parsed.status) {
    case http::HeadStatus::partial:
      if (c.input.size() > loop_limits::max_head_bytes) {
        c.request_line = "-";
        respond_and_close(c, 431, head_too_large());
        return;
      }
      // A kept-alive connection may idle long; a head once begun must finish soon.
      c.deadline = std::min(c.deadline, now_ + options_.request_timeout);
      return;
    case http::HeadStatus::malformed:
      c.request_line = "-";
      respond_and_close(c, 400, "Malformed request");
      return;
    case http::HeadStatus::complete:
      if (parsed.size > loop_limits::max_head_bytes) {
        c.request_line = "-";
        respond_and_close(c, 431, head_too_large());
        return;
      }
      route(c, head, parsed.size);
      return;
  }
}

void EventLoop::route(Connection& c, const http::RequestHead& head, std::size_t head_size) {
  c.request_line.assign(head.method);
  c.request_line += ' ';
  // The access log never shows a token.
  if (head.target.find("access_token=") == std::string_view::npos)
    c.request_line += head.target;
  else
    c.request_line += redact_access_token(head.target);
  c.request_line += " HTTP/1.";
  c.request_line += static_cast<char>('0' + head.minor_version);
  c.started = now_;
  if (log_.debugging()) log_.debug(c.remote + " \"" + c.request_line + "\"");

  if (head.method == "GET") {
    if (auto target = http::split_target(head.target)) {
      if (auto segments = http::two_segments(target->path); segments && segments->first == options_.listen_action) {
        // --accept spread: the home loop hands subscriptions to the loops in turn.
        if (EventLoop* loop = subscription_loop()) return move_to(*loop, c);
        subscribe(c, head, segments->second, target->query);
        return;
      }
    }
    receive_body(c, head, head_size);
    return;
  }
  if (head.method == "POST" || head.method == "OPTIONS") {
    receive_body(c, head, head_size);
    return;
  }
  const std::string headers = "Allow: GET, POST, OPTIONS\r\n" + cors_.headers_for(head.field("Origin")).lines();
  respond_and_close(c, 405, "Method not allowed", headers);
}

// A request for a worker is read whole, body included, before it is handed
// off: a worker that read the body itself would be held by a slow (or
// stalled) uploader, and a few of them would stop all publishing.
void EventLoop::receive_body(Connection& c, const http::RequestHead& head, std::size_t head_size) {
  const std::size_t codings = head.count("Transfer-Encoding");
  const std::size_t lengths = head.count("Content-Length");
  const bool chunked = codings > 0;
  std::size_t length = 0;
  if (chunked) {
    // RFC 9112, 6.1: a coding we cannot decode is 501 (cpp-httplib decodes chunked only).
    if (codings > 1 || !http::equals_ignoring_case(*head.field("Transfer-Encoding"), "chunked")) {
      respond_and_close(c, 501, "Transfer-Encoding not supported (only chunked)");
      return;
    }
  } else if (lengths > 1) {
    respond_and_close(c, 400, "Malformed request: more than one Content-Length");
    return;
  } else if (lengths == 1) {
    auto parsed = parse_content_length(*head.field("Content-Length"));
    if (!parsed) {
      respond_and_close(c, 400, "Malformed request: Content-Length is not a number");
      return;
    }
    // Refused before a byte of the body is read (a client that sent
    // Expect: 100-continue never sends it).
    if (*parsed > options_.max_body) {
      respond_and_close(c, 413, body_too_large(options_.max_body));
      return;
    }
    length = *parsed;
  }
  // RFC 9110, 10.1.1 (an HTTP/1.0 client's expectation is ignored).
  const auto expect = head.field("Expect");
  const bool expects_continue =
      head.minor_version >= 1 && expect && http::equals_ignoring_case(*expect, "100-continue");

  c.served_here = !chunked && serves_here(head);
  if (c.served_here) {
    // Answered on the loop (small_requests.cpp): the head stays as read.
    c.state = ConnectionState::reading_body;
    c.body_start = head_size;
    c.body_length = length;
    c.chunked = false;
    c.deadline = std::min(c.deadline, now_ + options_.request_timeout);
    // Most requests come whole in one read: served now, with the head as parsed.
    if (c.input.size() - head_size >= length) return serve_here(c, head);
    if (!try_body(c) || !expects_continue) return;
    send_continue(c);
    return;
  }

  // cpp-httplib gets the head in canonical form: CRLF line ends (it skips
  // bare-LF lines), no leading blank lines, no Content-Type, and an explicit empty length
  // (RFC 9112, 6.3: a POST with neither length nor chunking has an empty
  // body; cpp-httplib would read it until the connection closes). The loop
  // answers the expectation itself, so the worker does not see it.
  std::string canonical;
  canonical.reserve(head_size + 32 + (c.input.size() - head_size));
  canonical.append(head.method).append(" ").append(head.target).append(" HTTP/1.");
  canonical += static_cast<char>('0' + head.minor_version);
  canonical += "\r\n";
  for (const auto& f : head.fields) {
    if (expects_continue && http::equals_ignoring_case(f.name, "Expect")) continue;
    // The body is the event's data whatever its type. cpp-httplib would
    // parse an application/x-www-form-urlencoded body (curl -d's default) as
    // a form and refuse one over 8 KB with 413: it never sees the type.
    if (http::equals_ignoring_case(f.name, "Content-Type")) continue;
    canonical.append(f.name).append(": ").append(f.value).append("\r\n");
  }
  if (head.method == "POST" && !chunked && lengths == 0) canonical += "Content-Length: 0\r\n";
  canonical += "\r\n";
  const std::size_t body_start = canonical.size();
  canonical.append(c.input, head_size, std::string::npos);
  c.input = std::move(canonical);

  c.state = ConnectionState::reading_body;
  c.body_start = body_start;
  c.body_length = length;
  c.chunked = chunked;
  c.chunks = http::ChunkedScanner{};
  // The body shares the head's deadline (a kept-alive connection's may still be the idle one).
  c.deadline = std::min(c.deadline, now_ + options_.request_timeout);
  if (!try_body(c) || !expects_continue) return;
  send_continue(c);
}

void EventLoop::send_continue(Connection& c) {
  // The client waits for this before it sends the body. Written directly:
  // the loop queues nothing for a connection reading a request, so the
  // kernel's buffer takes these few bytes unless the client left earlier
  // responses unread by the megabyte.
  static constexpr std::string_view continue_response = "HTTP/1.1 100 Continue\r\n\r\n";
  iovec piece{const_cast<char*>(continue_response.data()), continue_response.size()};
  IoResult r = c.io->write(std::span<const iovec>(&piece, 1));
  if (r.status != IoStatus::ok || r.bytes != continue_response.size()) {
    if (log_.debugging()) log_.debug(c.remote + " could not be sent 100 Continue: closing");
    destroy(c);
  }
}

void EventLoop::read_body(Connection& c) {
  for (int i = 0; i < loop_limits::reads_per_turn; ++i) {
    IoResult r = c.io->read(scratch_.data(), scratch_.size());
    if (r.status == IoStatus::would_block) return;
    if (r.status != IoStatus::ok) {
      if (log_.debugging()) log_.debug(c.remote + " closed the connection in the middle of a request body");
      destroy(c);
      return;
    }
    c.input.append(scratch_.data(), r.bytes);
    if (!try_body(c)) return;
  }
}

// True while the body is incomplete; otherwise the request has been handed
// off or refused.
bool EventLoop::try_body(Connection& c) {
  const std::size_t received = c.input.size() - c.body_start;
  if (!c.chunked) {
    if (received < c.body_length) return true;
    finish_request(c);
    return false;
  }
  const auto scanned = static_cast<std::size_t>(c.chunks.scanned());
  const http::ChunkedStatus status = c.chunks.feed(std::string_view(c.input).substr(c.body_start + scanned));
  if (c.chunks.data_bytes() > options_.max_body ||
      (status == http::ChunkedStatus::partial && received > http::raw_body_budget(options_.max_body))) {
    respond_and_close(c, 413, body_too_large(options_.max_body));
    return false;
  }
  switch (status) {
    case http::ChunkedStatus::partial:
      return true;
    case http::ChunkedStatus::malformed:
      respond_and_close(c, 400, "Malformed request: bad chunked framing");
      return false;
    case http::ChunkedStatus::complete:
      finish_request(c);
      return false;
  }
  return false;
}

void EventLoop::hand_off(Connection& c) {
  if (!leave_poller(c, "hand-off")) return;
  c.state = ConnectionState::handed_off;
  ++handed_off_;
  hand_off_(c);
}

void EventLoop::respond_and_close(Connection& c, int status, std::string_view message,
                                  std::string_view extra_headers) {
  auto bytes = std::make_shared<const std::string>(plain_response(status, message, extra_headers));
  if (log_.logs_access()) log_access(c, status, std::to_string(bytes->size()) + " " + format_duration(now_ - c.started));
  c.input.clear();
  c.output.clear();
  c.output.push(std::move(bytes), false);
  c.linger = true;
  start_closing(c);
}

void EventLoop::log_access(const Connection& c, int status, std::string_view detail) const {
  if (!log_.logs_access()) return;
  std::string line = c.remote;
  line += " \"";
  line += c.request_line.empty() ? std::string_view("-") : std::string_view(c.request_line);
  line += "\" ";
  line += std::to_string(status);
  line += ' ';
  line += detail;
  log_.access(line);
}

}  // namespace es
