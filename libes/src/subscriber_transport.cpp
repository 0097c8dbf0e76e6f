// SPDX-License-Identifier: GPL-3.0-or-later
#include "subscriber_transport.hpp"

#include <memory>

namespace es {

std::string SseTransport::open_stream(std::string_view allow_origin) const {
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
  if (!allow_origin.empty()) {
    head += "Access-Control-Allow-Origin: ";
    head += allow_origin;
    head += "\r\n";
    if (allow_origin != "*") head += "Vary: Origin\r\n";
  }
  head += "\r\n";
  return head;
}

Result<SharedBytes> SseTransport::encode(const Event& event) const { return serialize_shared(event); }

SharedBytes SseTransport::keepalive(std::string_view text) const {
  return std::make_shared<const std::string>(serialize_comment(text));
}

}  // namespace es
