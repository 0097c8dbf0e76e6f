// SPDX-License-Identifier: GPL-3.0-or-later
#include "ws/handshake.hpp"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <cctype>

namespace es::ws {
namespace {

constexpr std::string_view guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"; // RFC 6455, 1.3

bool has_token(std::string_view list, std::string_view token) {
  // A comma-separated list ("keep-alive, Upgrade"), compared case-insensitively.
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t end = list.find(',', start);
    if (end == std::string_view::npos) end = list.size();
    std::string_view item = list.substr(start, end - start);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (http::equals_ignoring_case(item, token)) return true;
    start = end + 1;
  }
  return false;
}

/// A Sec-WebSocket-Key is the base64 of 16 bytes: 22 characters and "==".
bool valid_key(std::string_view key) {
  if (key.size() != 24 || key.substr(22) != "==") return false;
  for (const char c : key.substr(0, 22))
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '/') return false;
  return true;
}

}  // namespace

bool is_upgrade(const http::RequestHead& head) {
  const auto upgrade = head.field("Upgrade");
  return upgrade && has_token(*upgrade, "websocket");
}

std::string accept_key(std::string_view key) {
  std::string input(key);
  input += guid;
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  unsigned char encoded[4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1];
  const int n = EVP_EncodeBlock(encoded, digest, SHA_DIGEST_LENGTH);
  return std::string(reinterpret_cast<const char*>(encoded), static_cast<std::size_t>(n));
}

HandshakeCheck check_handshake(const http::RequestHead& head) {
  HandshakeCheck check;
  const auto refuse = [&](std::string message) {
    check.status = 400;
    check.message = "WebSocket handshake refused: " + std::move(message);
    check.extra_headers = "Sec-WebSocket-Version: 13\r\n";
    return check;
  };
  if (head.minor_version < 1) return refuse("HTTP/1.1 is required");
  const auto connection = head.field("Connection");
  if (!connection || !has_token(*connection, "upgrade")) return refuse("Connection: Upgrade is missing");
  const auto version = head.field("Sec-WebSocket-Version");
  if (!version) return refuse("Sec-WebSocket-Version is missing (this server speaks 13)");
  if (*version != "13") return refuse("Sec-WebSocket-Version " + std::string(*version) + " is not supported (only 13)");
  const auto key = head.field("Sec-WebSocket-Key");
  if (!key) return refuse("Sec-WebSocket-Key is missing");
  if (!valid_key(*key)) return refuse("Sec-WebSocket-Key is not the base64 of 16 bytes");
  check.accept = accept_key(*key);
  return check;
}

}  // namespace es::ws
