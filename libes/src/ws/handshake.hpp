// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// The server side of the WebSocket opening handshake (RFC 6455, 4.2): is a
// request an upgrade, is it a valid one, and the 101 answer. Pure but for
// SHA-1 and base64, from OpenSSL.

#include "http/request_head.hpp"

#include <string>
#include <string_view>

namespace es::ws {

/// True when the request asks for a WebSocket (Upgrade: websocket).
bool is_upgrade(const http::RequestHead& head);

/// Sec-WebSocket-Accept for a Sec-WebSocket-Key.
std::string accept_key(std::string_view key);

struct HandshakeCheck {
  std::string accept; ///< set when valid
  int status = 0;     ///< else the refusal: 400 (or 426 for a version we do not speak)
  std::string message;
  std::string extra_headers; ///< whole lines
};

/// Checks an upgrade request (method, version, Connection, key, version 13).
HandshakeCheck check_handshake(const http::RequestHead& head);

}  // namespace es::ws
