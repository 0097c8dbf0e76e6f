// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// One client connection as its event loop tracks it. The loop thread owns
// it, except while it is handed off: then exactly one worker uses `io` and
// `input` until it gives the connection back.

#include "http/chunked_framing.hpp"
#include "net/io/socket_io.hpp"
#include "server/loop/write_queue.hpp"
#include "server/pubsub/publication.hpp"
#include "server/subscribers/subscriber_kind.hpp"

#include <es/server.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace es {

using LoopClock = std::chrono::steady_clock;

enum class ConnectionState {
  handshaking,  ///< the SocketIo's handshake (TLS) is not complete yet
  reading_head, ///< waiting for a request head (new or kept alive)
  reading_body, ///< a handed-off request's body is arriving; handed off once complete
  handed_off,   ///< a worker runs cpp-httplib on it; the loop does not touch it
  streaming,    ///< a subscriber: the loop writes events, its kind reads what comes
  closing,      ///< flushing a last response or the end of a stream, then close
};

struct Connection {
  std::unique_ptr<SocketIo> io;
  std::uint64_t serial = 0; ///< unique for the loop's lifetime (descriptors are reused)
  ConnectionState state = ConnectionState::reading_head;

  std::string input; ///< bytes read but not yet consumed: a head in progress, a pipelined request

  // reading_body: `input` holds the canonical head, then the body so far.
  std::size_t body_start = 0;  ///< where the body begins in `input`
  std::size_t body_length = 0; ///< Content-Length (not chunked)
  bool chunked = false;
  bool served_here = false; ///< the request is one the loop answers itself (small_requests.cpp)
  bool parked = false;      ///< handed_off, but waiting for a publish's answer on the loop, not a worker
  bool reads_paused = false; ///< an answer is still being written: the next request waits
  http::ChunkedScanner chunks; ///< has scanned input[body_start, body_start + chunks.scanned())
  WriteQueue output;

  std::string remote;       ///< "IP:PORT" ("[IP]:PORT" for IPv6), for logs and hooks
  std::string request_line; ///< "GET /poll/x HTTP/1.1", for the access log

  LoopClock::time_point started{};  ///< accepted, or the stream opened
  LoopClock::time_point deadline{}; ///< handshake, head, idle or linger limit, by state

  bool in_poller = false;
  bool want_write = false; ///< EPOLLOUT armed: the kernel buffer was full
  bool dirty = false;      ///< on the loop's list of queues to write this turn
  bool write_shut = false; ///< FIN sent; waiting for the peer's
  bool linger = false;     ///< after the last byte, wait for the peer's FIN before closing
  std::uint8_t kind = 0;   ///< subscribers: index of its SubscriberKind

  // Subscribers only.
  std::string token;
  std::uint64_t subscriber_id = 0;
  std::uint64_t events_written = 0;
  std::unique_ptr<InputState> input_state; ///< its kind's, for client bytes
  /// Set while waiting for the store's replay: live publications are held
  /// here and joined after it, dropping any the replay already had (by
  /// position). A pointer, so that a stream costs 8 bytes for it, not 24.
  std::unique_ptr<std::vector<PublicationPtr>> held;
  /// A stream's head while it waits to be written (when_following).
  SharedBytes pending_head;
  /// Publications at or before this were in the stream's replay: a store
  /// that delivers by reading (Redis) may still bring some of them live
  /// after the replay was joined, and they are not sent twice.
  StorePosition replayed_up_to;
  CloseReason close_reason = CloseReason::client_closed; ///< once the stream has ended

  int fd() const noexcept { return io->fd(); }
  bool replaying() const noexcept { return held != nullptr; }
};

}  // namespace es
