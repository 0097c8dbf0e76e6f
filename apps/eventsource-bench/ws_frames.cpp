// SPDX-License-Identifier: GPL-3.0-or-later
#include "ws_frames.hpp"

namespace es::bench {

WsFrameDecoder::Status WsFrameDecoder::feed(std::string_view bytes,
                                            const std::function<void(std::string_view)>& on_message) {
  // Most reads hold whole frames: parse in place and keep only a tail.
  std::string_view input = bytes;
  if (!buffer_.empty()) {
    buffer_.append(bytes);
    input = buffer_;
  }
  std::size_t at = 0;
  Status status = Status::more;
  while (input.size() - at >= 2) {
    const auto b0 = static_cast<std::uint8_t>(input[at]);
    const auto b1 = static_cast<std::uint8_t>(input[at + 1]);
    if (b1 & 0x80) {
      status = Status::malformed; // a server never masks
      break;
    }
    std::uint64_t length = b1 & 0x7F;
    std::size_t header = 2;
    if (length == 126) {
      if (input.size() - at < 4) break;
      length = (static_cast<std::uint64_t>(static_cast<std::uint8_t>(input[at + 2])) << 8) |
               static_cast<std::uint8_t>(input[at + 3]);
      header = 4;
    } else if (length == 127) {
      if (input.size() - at < 10) break;
      length = 0;
      for (std::size_t i = 2; i < 10; ++i) length = (length << 8) | static_cast<std::uint8_t>(input[at + i]);
      header = 10;
    }
    if (input.size() - at < header + length) break;
    const std::uint8_t opcode = b0 & 0x0F;
    const std::string_view payload = input.substr(at + header, static_cast<std::size_t>(length));
    at += header + static_cast<std::size_t>(length);
    if (opcode == 0x8) {
      status = Status::closed;
      break;
    }
    if (opcode == 0x1 || opcode == 0x2) on_message(payload); // the bench's events are never fragmented
  }
  if (status != Status::more) {
    buffer_.clear();
    return status;
  }
  std::string rest(input.substr(at));
  buffer_.swap(rest);
  return status;
}

std::string_view ws_event_data(std::string_view payload) noexcept {
  constexpr std::string_view prefix = "{\"data\":\"";
  if (!payload.starts_with(prefix)) return payload;
  payload.remove_prefix(prefix.size());
  // The bench's data (a stamp and padding) holds no quote or backslash.
  const std::size_t end = payload.find('"');
  return end == std::string_view::npos ? std::string_view() : payload.substr(0, end);
}

}  // namespace es::bench
