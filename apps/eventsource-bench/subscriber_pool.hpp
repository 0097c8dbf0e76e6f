// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// The subscribers of a run: N event-stream connections in one epoll loop on
// the calling thread. Each one checks what it receives: every accepted event
// once (lost, duplicated), each publisher's events in the order it sent them
// (out of order), and the publish → receive latency.

#include "chunked_decoder.hpp"
#include "endpoint.hpp"
#include "report.hpp"
#include "url_template.hpp"
#include "ws_frames.hpp"

typedef struct ssl_st SSL;

#include <es/parser.hpp>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace es::bench {

class SubscriberPool {
 public:
  struct Plan {
    std::vector<UrlTemplate> urls;    ///< one per server; subscriber i connects to urls[(i / tokens) % size]
    std::vector<Endpoint> endpoints;  ///< resolved urls, same order
    std::vector<std::string> tokens;  ///< subscriber i listens on tokens[i % size]
    unsigned subscribers = 0;
    unsigned concurrency = 0;         ///< connections opened but not yet answered, at most
    unsigned source_addresses = 0;    ///< > 1: bind to 127.0.0.1 … 127.0.0.K in turn
    unsigned publishers = 0;          ///< stamps carry a publisher number below this
    unsigned events = 0;              ///< per token; stamps carry a sequence number below this
    std::uint64_t head_timeout_ns = 0;
    bool websocket = false;           ///< subscribe with Upgrade: websocket (one message an event)
  };

  explicit SubscriberPool(Plan plan);
  ~SubscriberPool();
  SubscriberPool(const SubscriberPool&) = delete;
  SubscriberPool& operator=(const SubscriberPool&) = delete;

  /// Waits up to `timeout_ms` for network events and handles them; opens new
  /// connections while fewer than `concurrency` await their head; fails the
  /// ones whose head is overdue.
  void poll(int timeout_ms);

  /// Every subscriber has its response head or has failed.
  bool connecting_done() const noexcept { return next_to_start_ == subscribers_.size() && in_flight_ == 0; }
  unsigned started() const noexcept { return static_cast<unsigned>(next_to_start_); }
  unsigned connected() const noexcept { return connected_; }
  unsigned failed_to_connect() const noexcept { return failed_to_connect_; }
  std::uint64_t delivered() const noexcept { return delivered_; }
  std::uint64_t last_delivery_ns() const noexcept { return last_delivery_ns_; }

  /// From now on, count what is still to come: `accepted[t]` events were
  /// accepted on tokens[t].
  void expect(std::vector<std::uint32_t> accepted);
  /// Events accepted and not yet received by a subscriber still connected (after expect()).
  std::uint64_t outstanding() const noexcept { return outstanding_; }

  /// Fills the connect and delivery figures (delivery against expect()'s
  /// counts), in total and per subscribe URL (`per_url`: one per Plan::urls,
  /// without their text).
  void fill(ConnectFigures& connect, DeliveryFigures& delivery, std::vector<UrlFigures>& per_url) const;
  /// Resets every connection (SO_LINGER 0), so that back-to-back runs do not
  /// pile up TIME_WAIT sockets and run out of ports.
  void close_all() noexcept;

 private:
  enum class State : std::uint8_t { waiting, connecting, handshaking, awaiting_head, streaming, failed, ended };

  struct Subscriber {
    int fd = -1;
    State state = State::waiting;
    SSL* ssl = nullptr;                        // https: the TLS session
    bool chunked = false;
    std::uint32_t token = 0;
    std::uint32_t server = 0;                  // index into Plan::urls
    std::uint64_t started_ns = 0;
    std::string head;                          // the response head while it arrives
    ChunkedDecoder chunks;
    WsFrameDecoder frames;                     // --ws
    std::unique_ptr<es::Parser> parser;
    std::vector<std::uint64_t> seen;           // bit per sequence number
    std::vector<std::uint32_t> last_by_publisher;  // highest sequence + 1 from each publisher, 0 = none
    std::uint32_t unique = 0, duplicated = 0, out_of_order = 0, unrecognised = 0;
  };

  void start(std::size_t index, std::uint64_t now);
  void on_connected(std::size_t index, bool registered);  // registered: in the epoll set already
  void continue_handshake(std::size_t index);
  void send_request(std::size_t index);
  /// Reads what is there (TLS or plain); < 0 with errno EAGAIN when nothing, 0 at the end.
  ssize_t read_some(Subscriber& subscriber);
  void on_readable(std::size_t index, std::uint64_t now);
  void on_head(std::size_t index, std::uint64_t now);
  void on_body(std::size_t index, std::string_view bytes);
  void on_event(std::size_t index, std::string_view data);
  void fail(std::size_t index, const std::string& kind);
  void expire_heads(std::uint64_t now);

  Plan plan_;
  int epoll_fd_ = -1;
  std::vector<Subscriber> subscribers_;
  std::vector<std::string> requests_;  // the GET request of each (server, token): [server * tokens + token]
  std::vector<char> read_buffer_;
  std::deque<std::size_t> awaiting_;   // in start order, so the oldest is first to time out
  std::size_t next_to_start_ = 0;
  unsigned in_flight_ = 0, connected_ = 0, failed_to_connect_ = 0;
  std::uint64_t receive_ns_ = 0;       // when the bytes being parsed were read
  std::uint64_t delivered_ = 0, last_delivery_ns_ = 0;
  std::vector<std::uint32_t> accepted_;
  std::uint64_t outstanding_ = 0;
  FailureCounts connect_failures_, stream_failures_;
  std::vector<FailureCounts> connect_failures_by_url_;  // [Subscriber::server]
  LatencyHistogram head_latency_, latency_;
  std::uint64_t first_start_ns_ = 0, connect_done_ns_ = 0;
};

}  // namespace es::bench
