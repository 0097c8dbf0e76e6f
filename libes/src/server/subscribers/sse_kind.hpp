// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// EventSource subscribers: text/event-stream over an HTTP/1.x response whose
// body ends when the connection closes (no Content-Length, no chunking,
// never compressed). Takes every subscription request (the fallback kind).

#include "server/subscribers/subscriber_kind.hpp"

namespace es {

class SseKind final : public SubscriberKind {
 public:
  std::string_view name() const noexcept override { return "sse"; }
  bool accepts(const http::RequestHead& head) const override;
  StreamOpening open(const http::RequestHead& head, const CorsHeaders& cors) const override;
  int opening_status() const noexcept override { return 200; }
  std::string invalid_reason(const Event& event) const override;
  Result<SharedBytes> frame(const Event& event) const override;
  SharedBytes keepalive(std::int64_t unix_time) const override;
  SharedBytes farewell(CloseReason) const override { return nullptr; }
  std::unique_ptr<InputState> new_input_state() const override { return nullptr; }
  /// An EventSource never sends anything on its stream: ignored.
  InputReply on_input(InputState*, std::string_view) const override { return {}; }

 private:
  static std::string stream_head(const CorsHeaders& cors);
};

}  // namespace es
