// SPDX-License-Identifier: GPL-3.0-or-later
#include "ws/frame.hpp"

#include <utility>

namespace es::ws {
namespace {

bool sendable_close_code(std::uint16_t code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) || (code >= 3000 && code <= 4999);
}

}  // namespace

std::string encode_frame(Opcode opcode, std::string_view payload) {
  std::string frame;
  frame.reserve(payload.size() + 10);
  frame += static_cast<char>(0x80 | static_cast<std::uint8_t>(opcode));
  const std::uint64_t n = payload.size();
  if (n < 126) {
    frame += static_cast<char>(n);
  } else if (n <= 0xFFFF) {
    frame += static_cast<char>(126);
    frame += static_cast<char>(n >> 8);
    frame += static_cast<char>(n & 0xFF);
  } else {
    frame += static_cast<char>(127);
    for (int shift = 56; shift >= 0; shift -= 8) frame += static_cast<char>((n >> shift) & 0xFF);
  }
  frame.append(payload);
  return frame;
}

std::string encode_close(CloseCode code, std::string_view reason) {
  const auto value = static_cast<std::uint16_t>(code);
  std::string payload;
  payload += static_cast<char>(value >> 8);
  payload += static_cast<char>(value & 0xFF);
  payload.append(reason.substr(0, 123)); // a control frame's payload is at most 125 bytes
  return encode_frame(Opcode::close, payload);
}

FrameEvent FrameReader::fail(CloseCode code, std::string reason) {
  failed_ = true;
  failure_.kind = FrameEvent::Kind::error;
  failure_.code = static_cast<std::uint16_t>(code);
  failure_.reason = std::move(reason);
  buffer_.clear();
  return failure_;
}

FrameEvent FrameReader::next() {
  if (failed_) return failure_;
  for (;;) {
    if (buffer_.size() < 2) return {};
    const auto b0 = static_cast<std::uint8_t>(buffer_[0]);
    const auto b1 = static_cast<std::uint8_t>(buffer_[1]);
    const bool fin = b0 & 0x80;
    const auto opcode = static_cast<std::uint8_t>(b0 & 0x0F);
    // RFC 6455, 5.2: no extension was negotiated, so every RSV bit must be 0.
    if (b0 & 0x70) return fail(CloseCode::protocol_error, "reserved bits set");
    // 5.1: "a client MUST mask all frames that it sends to the server".
    if (!(b1 & 0x80)) return fail(CloseCode::protocol_error, "unmasked client frame");
    const bool control = opcode & 0x08;
    if (opcode != 0x0 && opcode != 0x1 && opcode != 0x2 && opcode != 0x8 && opcode != 0x9 && opcode != 0xA)
      return fail(CloseCode::protocol_error, "unknown opcode " + std::to_string(opcode));

    std::uint64_t length = b1 & 0x7F;
    std::size_t header = 2;
    if (length == 126) {
      if (buffer_.size() < 4) return {};
      length = (static_cast<std::uint64_t>(static_cast<std::uint8_t>(buffer_[2])) << 8) |
               static_cast<std::uint8_t>(buffer_[3]);
      header = 4;
    } else if (length == 127) {
      if (buffer_.size() < 10) return {};
      length = 0;
      for (std::size_t i = 2; i < 10; ++i) length = (length << 8) | static_cast<std::uint8_t>(buffer_[i]);
      header = 10;
      if (length >> 63) return fail(CloseCode::protocol_error, "frame length with the top bit set");
    }
    // 5.5: control frames are never fragmented and carry at most 125 bytes.
    if (control && !fin) return fail(CloseCode::protocol_error, "fragmented control frame");
    if (control && length > 125) return fail(CloseCode::protocol_error, "control frame over 125 bytes");
    if (!control && (in_message_ ? message_.size() : 0) + length > max_message_)
      return fail(CloseCode::too_big, "message over " + std::to_string(max_message_) + " bytes");
    if (opcode == 0x0 && !in_message_) return fail(CloseCode::protocol_error, "continuation without a message");
    if ((opcode == 0x1 || opcode == 0x2) && in_message_)
      return fail(CloseCode::protocol_error, "new message inside a fragmented one");

    const std::size_t total = header + 4 + static_cast<std::size_t>(length);
    if (buffer_.size() < total) return {};
    const char* mask = buffer_.data() + header;
    std::string payload = buffer_.substr(header + 4, static_cast<std::size_t>(length));
    for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(payload[i] ^ mask[i % 4]);
    buffer_.erase(0, total);

    FrameEvent event;
    switch (opcode) {
      case 0x8:
        event.kind = FrameEvent::Kind::close;
        if (payload.size() == 1) return fail(CloseCode::protocol_error, "close frame with a 1-byte payload");
        event.code = payload.size() >= 2 ? static_cast<std::uint16_t>((static_cast<std::uint8_t>(payload[0]) << 8) |
                                                                      static_cast<std::uint8_t>(payload[1]))
                                         : 1005;
        // 7.4: 1005, 1006, 1015 and unassigned codes are never sent in a frame.
        if (payload.size() >= 2 && !sendable_close_code(event.code))
          return fail(CloseCode::protocol_error, "invalid close code " + std::to_string(event.code));
        event.payload = std::move(payload);
        return event;
      case 0x9:
        event.kind = FrameEvent::Kind::ping;
        event.payload = std::move(payload);
        return event;
      case 0xA:
        event.kind = FrameEvent::Kind::pong;
        return event;
      default:
        message_.append(payload);
        in_message_ = !fin;
        if (!fin) continue;
        event.kind = FrameEvent::Kind::message;
        event.payload = std::exchange(message_, {});
        return event;
    }
  }
}

}  // namespace es::ws
