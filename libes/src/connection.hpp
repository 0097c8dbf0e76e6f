// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// One client connection as the streaming loop tracks it. The loop thread
// owns it, except while it is handed off: then exactly one worker uses
// `io` and `input` until it gives the connection back.

#include "chunked_framing.hpp"
#include "connection_io.hpp"
#include "write_queue.hpp"

#include <es/hub.hpp>
#include <es/server.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace es {

enum class ConnectionState {
  reading_head, ///< waiting for a request head (new or kept alive)
  reading_body, ///< a handed-off request's body is arriving; handed off once complete
  handed_off,   ///< a worker runs cpp-httplib on it; the loop does not touch it
  streaming,    ///< a subscriber: the loop only writes to it
  closing,      ///< flushing a last response or the end of a stream, then close
};

struct Connection {
  std::unique_ptr<ConnectionIo> io;
  std::uint64_t serial = 0; ///< unique for the loop's lifetime (descriptors are reused)
  ConnectionState state = ConnectionState::reading_head;

  std::string input; ///< bytes read but not yet consumed: a head in progress, a pipelined request

  // reading_body: `input` holds the canonical head, then the body so far.
  std::size_t body_start = 0;  ///< where the body begins in `input`
  std::size_t body_length = 0; ///< Content-Length (not chunked)
  bool chunked = false;
  http::ChunkedScanner chunks; ///< has scanned input[body_start, body_start + chunks.scanned())
  WriteQueue output;

  std::string remote_ip;
  int remote_port = 0;
  std::string remote;       ///< "IP:PORT" ("[IP]:PORT" for IPv6), for logs and hooks
  std::string request_line; ///< "GET /poll/x HTTP/1.1", for the access log

  HubClock::time_point started{};  ///< accepted, or the stream opened
  HubClock::time_point deadline{}; ///< head, idle or linger limit, by state

  bool in_epoll = false;
  bool want_write = false; ///< EPOLLOUT armed: the kernel buffer was full
  bool dirty = false;      ///< on the loop's list of queues to write this turn
  bool write_shut = false; ///< FIN sent; waiting for the peer's
  bool linger = false;     ///< after the last byte, wait for the peer's FIN before closing

  // Subscribers only.
  std::string token;
  std::uint64_t subscriber_id = 0;
  std::uint64_t events_written = 0;
  CloseReason close_reason = CloseReason::client_closed; ///< once the stream has ended

  int fd() const noexcept { return io->fd(); }
};

}  // namespace es
