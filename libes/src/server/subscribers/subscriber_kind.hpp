// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// The subscriber-kind seam (nchan's src/subscribers/): what differs between
// an EventSource stream and, next, a WebSocket on the same token. A kind
//
// - is chosen from the subscription request (accepts(): an
//   `Upgrade: websocket` header will pick the WebSocket kind; SSE takes
//   every other GET /poll/TOKEN);
// - answers the request with the bytes that open its stream, or refuses it;
// - frames each event once: frame() runs once per publication per kind and
//   its bytes are shared by every subscriber of that kind (Publication);
// - writes keepalives and its own farewell (a WebSocket close frame);
// - reads what the client sends on an open stream (on_input(): SSE ignores
//   it; WebSocket answers pings and close frames).
//
// A kind is stateless and shared by every loop; per-stream state lives in
// the InputState it creates.

#include "http/cors.hpp"
#include "http/request_head.hpp"

#include <es/event.hpp>
#include <es/result.hpp>
#include <es/serializer.hpp>
#include <es/server.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace es {

/// Per-stream state of a kind's input side (a WebSocket frame parser).
class InputState {
 public:
  virtual ~InputState() = default;
};

/// What a kind wants done after reading client bytes on an open stream.
struct InputReply {
  SharedBytes send;                 ///< bytes to queue (a pong, a close frame), or null
  std::optional<CloseReason> close; ///< end the stream, once `send` is written
  std::string detail;               ///< why, for the log (a protocol error)
};

/// How a subscription request is answered: the bytes that open the stream,
/// or a refusal (status and one-line message).
struct StreamOpening {
  SharedBytes head;  ///< set when the stream opens
  int status = 0;    ///< else the refusal
  std::string message;
  std::string extra_headers; ///< whole lines, for the refusal
};

class SubscriberKind {
 public:
  virtual ~SubscriberKind() = default;

  /// "sse", "websocket": in logs, stats and SubscriberInfo.
  virtual std::string_view name() const noexcept = 0;
  /// True when this kind takes a subscription made with `head`.
  virtual bool accepts(const http::RequestHead& head) const = 0;
  /// The answer to an accepted subscription request.
  virtual StreamOpening open(const http::RequestHead& head, const CorsHeaders& cors) const = 0;
  /// The status of that answer, for the access log (200, 101).
  virtual int opening_status() const noexcept = 0;

  /// Why `event` cannot be framed (checked before the store gives it an id),
  /// or "" when it can.
  virtual std::string invalid_reason(const Event& event) const = 0;
  /// The wire form of one event (its id assigned). Called once per event.
  virtual Result<SharedBytes> frame(const Event& event) const = 0;
  /// Something the client ignores, to keep idle connections alive.
  virtual SharedBytes keepalive(std::int64_t unix_time) const = 0;
  /// Bytes written after the last event when a stream ends for `reason`
  /// (a WebSocket close frame); null for none.
  virtual SharedBytes farewell(CloseReason reason) const = 0;

  /// State for on_input(), one per stream; null when the kind keeps none.
  virtual std::unique_ptr<InputState> new_input_state() const = 0;
  /// Client bytes read on an open stream.
  virtual InputReply on_input(InputState* state, std::string_view bytes) const = 0;
};

/// The kinds a server offers, in the order they are asked to accept a
/// request. A kind's index here is its slot in every Publication.
inline constexpr std::size_t max_subscriber_kinds = 4;

}  // namespace es
