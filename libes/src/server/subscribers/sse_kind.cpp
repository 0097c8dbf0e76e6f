// SPDX-License-Identifier: GPL-3.0-or-later
#include "server/subscribers/sse_kind.hpp"

#include "http/date.hpp"

#include <memory>

namespace es {

bool SseKind::accepts(const http::RequestHead&) const { return true; }

std::string SseKind::stream_head(const CorsHeaders& cors) {
  // Sent at once, before any event: an upstream bug held the head back until
  // the first event, so clients could not tell a live stream from a hung one.
  // "Connection: close" because the body is delimited by the close (RFC 9112, 6.3).
  // X-Accel-Buffering: nginx (and proxies that copy it) must not buffer a stream.
  std::string head =
      "HTTP/1.1 200 OK\r\n"
      "Content-Type: text/event-stream\r\n"
      "Cache-Control: no-cache\r\n"
      "X-Accel-Buffering: no\r\n"
      "Connection: close\r\n";
  head += http::date_header_line();
  head += cors.lines();
  head += "\r\n";
  return head;
}

StreamOpening SseKind::open(const http::RequestHead&, const CorsHeaders& cors) const {
  StreamOpening opening;
  if (!cors.empty()) {
    opening.head = std::make_shared<const std::string>(stream_head(cors));
    return opening;
  }
  // The head of every stream without CORS headers is shared, rebuilt when
  // its Date changes (once a second at most, per loop thread).
  thread_local std::string date_of_shared;
  thread_local SharedBytes shared;
  if (const std::string& date = http::date_header_line(); !shared || date != date_of_shared) {
    shared = std::make_shared<const std::string>(stream_head(cors));
    date_of_shared = date;
  }
  opening.head = shared;
  return opening;
}

std::string SseKind::invalid_reason(const Event& event) const { return invalid_event_reason(event); }

Result<SharedBytes> SseKind::frame(const Event& event) const { return serialize_shared(event); }

SharedBytes SseKind::keepalive(std::int64_t unix_time) const {
  return std::make_shared<const std::string>(serialize_comment("keepalive " + std::to_string(unix_time)));
}

}  // namespace es
