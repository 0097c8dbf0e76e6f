// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// The transport seam: how a subscriber's stream is opened and how events and
// keepalives look on it. SSE (text/event-stream) is the one transport today;
// a WebSocket subscriber would open with a 101 upgrade and frame the same
// events differently, on the same loop and write queues.
//
// encode() is called once per event, never per subscriber: its result is
// shared by every subscriber's write queue.

#include <es/event.hpp>
#include <es/result.hpp>
#include <es/serializer.hpp>

#include <string>
#include <string_view>

namespace es {

class SubscriberTransport {
 public:
  virtual ~SubscriberTransport() = default;
  /// The bytes that open a stream: the response head. `allow_origin`, when
  /// not empty, is sent as Access-Control-Allow-Origin.
  virtual std::string open_stream(std::string_view allow_origin) const = 0;
  /// The wire form of one event; fails when the event cannot be written.
  virtual Result<SharedBytes> encode(const Event& event) const = 0;
  /// A keepalive the client ignores.
  virtual SharedBytes keepalive(std::string_view text) const = 0;
};

/// text/event-stream over an HTTP/1.x response whose body ends when the
/// connection closes: no Content-Length, no chunking, never compressed.
class SseTransport final : public SubscriberTransport {
 public:
  std::string open_stream(std::string_view allow_origin) const override;
  Result<SharedBytes> encode(const Event& event) const override;
  SharedBytes keepalive(std::string_view text) const override;
};

}  // namespace es
