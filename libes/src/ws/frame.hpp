// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// WebSocket frames (RFC 6455, section 5), as a server needs them: frames it
// sends (unmasked, made once and shared by every subscriber) and an
// incremental reader of what a client sends, fed bytes as they arrive in
// any split, which enforces the RFC's rules for clients and a small size
// limit. Pure: no sockets.
//
// Why not Debian's libwslay: its event API queues a copy of every message
// per connection (our fan-out shares one buffer among all subscribers), and
// its frame API pulls bytes through callbacks while our loop pushes what it
// has read; the part a push server needs is this file.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace es::ws {

enum class Opcode : std::uint8_t {
  continuation = 0x0,
  text = 0x1,
  binary = 0x2,
  close = 0x8,
  ping = 0x9,
  pong = 0xA,
};

/// Close codes (RFC 6455, 7.4.1) the server sends.
enum class CloseCode : std::uint16_t {
  normal = 1000,          ///< the `close` action ended the token's streams
  going_away = 1001,      ///< the server is stopping
  protocol_error = 1002,  ///< the client broke a framing rule
  policy_violation = 1008,///< the subscriber lagged past --max-queue
  too_big = 1009,         ///< a client message over the limit
};

/// One complete frame as the server sends it: FIN set, no mask.
std::string encode_frame(Opcode opcode, std::string_view payload);
/// A close frame with `code` and a short UTF-8 `reason` (at most 123 bytes kept).
std::string encode_close(CloseCode code, std::string_view reason = {});

/// What the reader found in the bytes it was fed.
struct FrameEvent {
  enum class Kind {
    none,     ///< need more bytes
    message,  ///< a complete text or binary message (ignored by the server)
    ping,     ///< answer with a pong carrying `payload`
    pong,
    close,    ///< the client starts (or answers) the closing handshake; `code` as sent (1005: none)
    error,    ///< a protocol violation: close with `code`; stop reading
  };
  Kind kind = Kind::none;
  std::uint16_t code = 0;
  std::string payload;
  std::string reason; ///< for errors, why (for the log)
};

class FrameReader {
 public:
  /// `max_message`: the largest data message accepted (then 1009).
  explicit FrameReader(std::size_t max_message = 4096) : max_message_(max_message) {}

  /// Appends client bytes.
  void feed(std::string_view bytes) { buffer_.append(bytes); }
  /// The next complete event in what was fed, or Kind::none. After an error
  /// every call returns that error again.
  FrameEvent next();

 private:
  FrameEvent fail(CloseCode code, std::string reason);

  std::size_t max_message_;
  std::string buffer_;
  std::string message_;        // a fragmented data message so far
  bool in_message_ = false;
  bool failed_ = false;
  FrameEvent failure_;
};

}  // namespace es::ws
