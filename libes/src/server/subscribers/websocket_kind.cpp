// SPDX-License-Identifier: GPL-3.0-or-later
#include "server/subscribers/websocket_kind.hpp"

#include "common/json_string.hpp"
#include "ws/frame.hpp"
#include "ws/handshake.hpp"

namespace es {
namespace {

class ReaderState final : public InputState {
 public:
  ws::FrameReader reader{WebSocketKind::max_client_message};
};

}  // namespace

bool WebSocketKind::accepts(const http::RequestHead& head) const { return ws::is_upgrade(head); }

StreamOpening WebSocketKind::open(const http::RequestHead& head, const CorsHeaders& cors) const {
  StreamOpening opening;
  const auto origin = head.field("Origin");
  if (cors_.enabled() && origin && cors_.headers_for(origin).empty()) {
    opening.status = 403;
    opening.message = "WebSocket refused: Origin " + std::string(*origin) + " is not allowed (--cors-origin)";
    return opening;
  }
  ws::HandshakeCheck check = ws::check_handshake(head);
  if (check.accept.empty()) {
    opening.status = check.status;
    opening.message = std::move(check.message);
    opening.extra_headers = std::move(check.extra_headers);
    return opening;
  }
  (void)cors; // no CORS headers on a 101: the browser does not check them
  opening.head = std::make_shared<const std::string>(
      "HTTP/1.1 101 Switching Protocols\r\n"
      "Upgrade: websocket\r\n"
      "Connection: Upgrade\r\n"
      "Sec-WebSocket-Accept: " +
      check.accept + "\r\n\r\n");
  return opening;
}

std::string WebSocketKind::invalid_reason(const Event&) const { return {}; }

Result<SharedBytes> WebSocketKind::frame(const Event& event) const {
  std::string object = "{\"data\":";
  object += json_data_ && !event.data.empty() ? event.data : json_string(event.data);
  if (!event.name.empty()) object.append(",\"event\":").append(json_string(event.name));
  if (!event.id.empty()) object.append(",\"id\":").append(json_string(event.id));
  if (event.retry) object.append(",\"retry\":").append(std::to_string(event.retry->count()));
  object += '}';
  return std::make_shared<const std::string>(ws::encode_frame(ws::Opcode::text, object));
}

SharedBytes WebSocketKind::keepalive(std::int64_t unix_time) const {
  return std::make_shared<const std::string>(ws::encode_frame(ws::Opcode::ping, "keepalive " + std::to_string(unix_time)));
}

SharedBytes WebSocketKind::farewell(CloseReason reason) const {
  switch (reason) {
    case CloseReason::token_closed:
      return std::make_shared<const std::string>(ws::encode_close(ws::CloseCode::normal, "token closed"));
    case CloseReason::server_stopped:
      return std::make_shared<const std::string>(ws::encode_close(ws::CloseCode::going_away, "server stopping"));
    case CloseReason::slow_consumer:
      return std::make_shared<const std::string>(
          ws::encode_close(ws::CloseCode::policy_violation, "too slow: resume with ?lastEventId="));
    case CloseReason::client_closed:
    case CloseReason::write_failed:
    case CloseReason::protocol_error:
      return nullptr;
  }
  return nullptr;
}

std::unique_ptr<InputState> WebSocketKind::new_input_state() const { return std::make_unique<ReaderState>(); }

InputReply WebSocketKind::on_input(InputState* state, std::string_view bytes) const {
  auto& reader = static_cast<ReaderState*>(state)->reader;
  reader.feed(bytes);
  InputReply reply;
  std::string out;
  for (;;) {
    ws::FrameEvent e = reader.next();
    switch (e.kind) {
      case ws::FrameEvent::Kind::none:
        if (!out.empty()) reply.send = std::make_shared<const std::string>(std::move(out));
        return reply;
      case ws::FrameEvent::Kind::message: // client messages are ignored (documented)
      case ws::FrameEvent::Kind::pong:
        break;
      case ws::FrameEvent::Kind::ping:
        out += ws::encode_frame(ws::Opcode::pong, e.payload);
        break;
      case ws::FrameEvent::Kind::close:
        // The closing handshake: answer with the client's code (none: 1000), then close.
        out += ws::encode_close(e.code == 1005 ? ws::CloseCode::normal : static_cast<ws::CloseCode>(e.code));
        reply.send = std::make_shared<const std::string>(std::move(out));
        reply.close = CloseReason::client_closed;
        return reply;
      case ws::FrameEvent::Kind::error:
        out += ws::encode_close(static_cast<ws::CloseCode>(e.code), e.reason);
        reply.send = std::make_shared<const std::string>(std::move(out));
        reply.close = CloseReason::protocol_error;
        reply.detail = std::move(e.reason);
        return reply;
    }
  }
}

}  // namespace es
