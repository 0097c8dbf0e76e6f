// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// WebSocket subscribers (tornadose's WebSocketSubscriber): GET /poll/TOKEN
// with Upgrade: websocket. Each event is one text frame holding a JSON
// object, framed once and shared like the SSE bytes:
//   {"data": ..., "event": "ping", "id": "7", "retry": 5000}
// with "event", "id" and "retry" only when the event has them; "data" is a
// string, or with -j the JSON value itself. Keepalives are ping frames; the
// end of a stream is a close frame (1000 for the close action, 1001 when
// the server stops, 1008 for a subscriber cut off for lagging). Client
// pings are answered, a client close gets the closing handshake, framing
// errors 1002 and messages over 4 KB 1009; other client messages are
// ignored. With --cors-origin set, a browser's Origin must be allowed (403):
// browsers do not apply CORS to WebSocket (cross-site WebSocket hijacking).

#include "server/subscribers/subscriber_kind.hpp"

namespace es {

class WebSocketKind final : public SubscriberKind {
 public:
  /// `json_data`: event data is JSON text, embedded as a value.
  WebSocketKind(bool json_data, const CorsPolicy& cors) : json_data_(json_data), cors_(cors) {}

  std::string_view name() const noexcept override { return "websocket"; }
  bool accepts(const http::RequestHead& head) const override;
  StreamOpening open(const http::RequestHead& head, const CorsHeaders& cors) const override;
  int opening_status() const noexcept override { return 101; }
  std::string invalid_reason(const Event& event) const override;
  Result<SharedBytes> frame(const Event& event) const override;
  SharedBytes keepalive(std::int64_t unix_time) const override;
  SharedBytes farewell(CloseReason reason) const override;
  std::unique_ptr<InputState> new_input_state() const override;
  InputReply on_input(InputState* state, std::string_view bytes) const override;

  /// The largest message a client may send (then 1009).
  static constexpr std::size_t max_client_message = 4096;

 private:
  bool json_data_;
  const CorsPolicy& cors_;
};

}  // namespace es
