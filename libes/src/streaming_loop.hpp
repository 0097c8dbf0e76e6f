// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// The event-driven core of the server (docs/architecture.md): one thread,
// one epoll set, holding the listening socket, every connection's request
// head, every subscriber stream, the hub and the event store.
//
// - Subscriptions (GET /<listen-action>/TOKEN) are answered here: head at
//   once, replay, then only writes.
// - Every other request is read whole (head and body) and then handed off
//   (Handoff callback) to a worker that runs cpp-httplib on it and gives the
//   connection back (give_back) for keep-alive: a worker never waits for a
//   client.
// - Publishing from any thread goes through the inbox; the loop assigns the
//   id, serializes once and appends the shared bytes to each subscriber's
//   queue; queues are written at the end of the turn, a bounded number per
//   turn, so a fan-out to many yields to new publishes and requests and
//   events published meanwhile share one writev per subscriber. A publisher
//   hears back once what was queued before its event has been written.
// - Timers (keepalive, housekeeping, shutdown) are the epoll_wait timeout.

#include "connection.hpp"
#include "cors_policy.hpp"
#include "event_store.hpp"
#include "http_head.hpp"
#include "listen_socket.hpp"
#include "loop_counters.hpp"
#include "loop_inbox.hpp"
#include "server_log.hpp"
#include "subscriber_transport.hpp"

#include <es/hub.hpp>
#include <es/server.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace es {

struct LoopHooks {
  Server::CheckConnection check_connection;
  Server::OpenHook on_open;
  Server::CloseHook on_close;
};

class StreamingLoop {
 public:
  /// Runs on the loop thread for a request the loop does not serve itself;
  /// the connection must come back through give_back() (from any thread).
  using Handoff = std::function<void(Connection&)>;

  StreamingLoop(const ServerOptions& options, const ServerLog& log, const CorsPolicy& cors, LoopCounters& counters,
                const LoopHooks& hooks, Handoff handoff);
  ~StreamingLoop();
  StreamingLoop(const StreamingLoop&) = delete;
  StreamingLoop& operator=(const StreamingLoop&) = delete;

  /// Binds the listening socket (idempotent). Throws std::system_error.
  void bind();
  std::uint16_t port() const noexcept { return port_.load(); }
  /// True once run() accepts connections.
  bool accepting() const noexcept { return accepting_.load(); }

  /// Serves until a stop request, then ends streams gracefully and returns.
  /// The inbox is closed afterwards; call finish() once no worker can still
  /// hold a connection.
  void run();
  /// After run() and after the workers stopped: closes what is left.
  void finish();

  // Any thread.
  void request_stop();
  bool on_loop_thread() const noexcept { return std::this_thread::get_id() == loop_thread_.load(); }
  /// Publishes and waits for the loop; inline on the loop thread.
  PublishResult publish(std::string token, Event event, bool close_after);
  /// A worker is done with a handed-off connection.
  void give_back(Connection& connection, bool keep_alive);

 private:
  // Connections.
  void accept_ready();
  Connection* add_connection(AcceptedSocket&& socket);
  void destroy(Connection& c);
  void update_events(Connection& c);
  void on_readable(Connection& c);
  void read_head(Connection& c);
  void try_request(Connection& c);
  void handle_request(Connection& c, const http::RequestHead& head, std::size_t head_size);
  void receive_body(Connection& c, const http::RequestHead& head, std::size_t head_size);
  void read_body(Connection& c);
  bool try_body(Connection& c);
  void hand_off(Connection& c);
  void subscribe(Connection& c, const http::RequestHead& head, std::string_view encoded_token,
                 std::string_view query);
  void respond_and_close(Connection& c, int status, std::string_view message, std::string_view extra_headers = {});
  void discard_input(Connection& c);

  // Subscribers.
  void end_subscription(Connection& c, CloseReason reason);
  void start_closing(Connection& c);
  void enqueue(Connection& c, const SharedBytes& bytes, bool is_event);
  void mark_dirty(Connection& c);
  void flush(Connection& c);
  /// Writes at most `budget` of the queues marked dirty.
  void flush_dirty(std::size_t budget);
  bool has_dirty() const noexcept { return dirty_head_ < dirty_.size(); }
  void cut_off_slow();

  // Commands and timers.
  void process_inbox();
  /// Answers the publishers whose backlog has been written (all of them with `all`).
  void answer_publishers(bool all = false);
  PublishResult publish_now(const std::string& token, Event event, bool close_after);
  void send_keepalives();
  void housekeeping();
  void begin_stop();
  void after_grace();
  int next_timeout_ms() const;
  void update_counters();

  Connection* find(int fd) const noexcept {
    return fd >= 0 && static_cast<std::size_t>(fd) < connections_.size() ? connections_[static_cast<std::size_t>(fd)].get()
                                                                         : nullptr;
  }
  void log_access(const Connection& c, int status, std::string_view detail) const;
  SubscriberInfo info_of(const Connection& c) const;

  const ServerOptions& options_;
  const ServerLog& log_;
  const CorsPolicy& cors_;
  LoopCounters& counters_;
  const LoopHooks& hooks_;
  Handoff handoff_;

  Hub hub_;
  MemoryEventStore store_;
  SseTransport transport_;
  SharedBytes plain_stream_head_; // the response head shared by every stream without CORS

  std::unique_ptr<ListenSocket> listener_;
  std::atomic<std::uint16_t> port_{0};
  std::atomic<bool> accepting_{false};
  std::atomic<std::thread::id> loop_thread_{};
  int epoll_fd_ = -1;
  LoopInbox inbox_;

  std::vector<std::unique_ptr<Connection>> connections_; // indexed by descriptor
  std::size_t open_connections_ = 0;
  std::size_t handed_off_ = 0;
  std::uint64_t next_serial_ = 1;
  std::vector<std::pair<int, std::uint64_t>> dirty_; // (fd, serial) to write, oldest first
  std::size_t dirty_head_ = 0;                       // dirty_[dirty_head_] is written next
  std::uint64_t marks_made_ = 0;                     // entries ever added to dirty_
  std::uint64_t marks_written_ = 0;                  // entries ever taken off it
  struct WaitingPublisher {
    std::uint64_t after_marks;                 // answered once marks_written_ reaches this
    std::promise<PublishResult>* reply;
    PublishResult result;
  };
  std::vector<WaitingPublisher> waiting_publishers_; // oldest first
  std::vector<std::pair<int, std::uint64_t>> slow_;  // (fd, serial) over max_queue
  std::vector<char> scratch_;                        // every read lands here first
  std::vector<LoopCommand> commands_;

  std::uint64_t published_ = 0;
  std::uint64_t delivered_ = 0;
  std::uint64_t slow_disconnects_ = 0;

  HubClock::time_point now_{};
  HubClock::time_point next_keepalive_{};
  HubClock::time_point next_housekeeping_{};
  HubClock::time_point accept_paused_until_{};
  bool accept_paused_ = false;
  bool descriptors_exhausted_ = false; // logged once until an accept succeeds again

  bool stopping_ = false;
  bool grace_over_ = false;
  HubClock::time_point grace_deadline_{};
  HubClock::time_point hard_deadline_{};
};

}  // namespace es
