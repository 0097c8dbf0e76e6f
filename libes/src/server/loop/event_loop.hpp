// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// One event loop: a thread, an epoll set, and everything it owns — its
// connections, its registry of subscribers, its fan-out state and its
// counters — so that several run side by side (--threads, docs/architecture.md).
// Each listens on the port with a socket of its own (SO_REUSEPORT). The
// first, the home loop, also runs the broker and the store: the others
// reach them through its mailbox (at_home) and are answered through
// theirs; publications reach them through their remote sink.
//
// What the loop does, and where each part is written:
//   event_loop.cpp       turns, timers, mailbox, stop and grace
//   connections.cpp      accepting, the poller, handshakes, closing
//   request_intake.cpp   request heads and bodies, routing, the hand-off
//                        to a worker, short answers
//   fanout.cpp           delivering publications, write queues, slow consumers
//   subscribers/subscription.cpp   opening, replaying and ending streams
//
// Other threads talk to it only through its mailbox (publish, give_back,
// request_stop).

#include "common/log.hpp"
#include "http/cors.hpp"
#include "http/request_head.hpp"
#include "net/io/socket_io.hpp"
#include "net/listen_socket.hpp"
#include "net/mailbox.hpp"
#include "net/poller.hpp"
#include "net/reactor.hpp"
#include "server/loop/connection.hpp"
#include "server/loop/fanout_scheduler.hpp"
#include "server/loop/loop_limits.hpp"
#include "server/loop/remote_backlog.hpp"
#include "server/metrics/counters.hpp"
#include "server/metrics/histogram.hpp"
#include "server/auth/jwt_verifier.hpp"
#include "server/endpoints/endpoints.hpp"
#include "server/pubsub/broker.hpp"
#include "server/pubsub/registry.hpp"
#include "server/subscribers/subscriber_census.hpp"
#include "server/subscribers/subscriber_kind.hpp"

#include <es/server.hpp>

#include <atomic>
#include <deque>
#include <exception>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <unordered_map>
#include <string>
#include <thread>
#include <variant>
#include <vector>

namespace es {

/// "descriptors: 20000 (about 19900 streams)": what the descriptor limit allows.
std::string descriptor_capacity_line(unsigned workers);

struct LoopHooks {
  Server::CheckConnection check_connection;
  Server::OpenHook on_open;
  Server::CloseHook on_close;
};

/// What a loop is built from; every reference outlives it.
struct LoopSetup {
  const ServerOptions& options;
  const Log& log;
  const CorsPolicy& cors;
  const LoopHooks& hooks;
  /// The subscriber kinds, asked in order (index = Connection::kind).
  std::vector<const SubscriberKind*> kinds;
  Broker& broker;
  SocketIoFactory make_io;
  /// --subscribe-key: subscriptions need a JWT that allows the token (null: open).
  const JwtVerifier* subscribe_auth = nullptr;
  /// The endpoints the loop answers itself (publish, /stats, /metrics,
  /// /health, OPTIONS); null: every such request is handed off.
  const EndpointContext* endpoints = nullptr;
  /// This loop's place among the server's loops (0: the home loop).
  std::size_t index = 0;
  /// The loop that runs the broker and the store; null: this one.
  class EventLoop* home = nullptr;
  /// SO_REUSEPORT on the listening socket (several loops, AcceptMode::reuseport).
  bool reuse_port = false;
  /// This loop listens (all loops with reuseport; only the home loop with spread).
  bool listens = true;
  /// AcceptMode::spread, on the home loop: every loop, subscriptions are handed to in turn.
  const std::vector<std::unique_ptr<class EventLoop>>* spread_to = nullptr;
  /// Subscribers over every loop (--exclusive, --max-subscribers).
  SubscriberCensus* census = nullptr;
  /// Runs on the loop thread for a request the loop does not serve itself;
  /// the connection must come back through give_back() (from any thread).
  std::function<void(Connection&)> hand_off;
  /// How many loops the server has.
  std::size_t loop_count = 1;
};

// Messages to the loop from other threads.
struct PublishMessage {
  std::string token;
  Event event;
  bool close_after = false;                     ///< the `close` action: end the token's streams
  std::promise<PublishResult>* reply = nullptr; ///< owned by the waiting publisher
};
struct ReturnMessage {
  Connection* connection = nullptr;
  bool keep_alive = false;
};
struct StopMessage {};
/// Work another loop asks this one to do (a follow, a store request, a
/// publication to deliver, an answer).
struct TaskMessage {
  std::function<void()> run;
};
using LoopMessage = std::variant<PublishMessage, ReturnMessage, StopMessage, TaskMessage>;

class EventLoop final : private PublicationSink, private Reactor {
 public:
  explicit EventLoop(LoopSetup setup);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  /// Binds the listening socket (idempotent) on `port` (0: options' port).
  /// Throws std::system_error.
  void bind(std::uint16_t port = 0);
  std::uint16_t port() const noexcept { return port_.load(); }

  /// Serves until a stop request, then ends streams gracefully and returns.
  /// The mailbox is closed afterwards; call finish() once no worker can
  /// still hold a connection.
  void run();
  /// After run() and after the workers stopped: closes what is left.
  void finish();

  // Any thread.
  void request_stop();
  bool on_loop_thread() const noexcept { return std::this_thread::get_id() == loop_thread_.load(); }
  /// Publishes and waits for the loop's answer; inline on the loop thread.
  PublishResult publish(std::string token, Event event, bool close_after);
  /// A worker is done with a handed-off connection.
  void give_back(Connection& connection, bool keep_alive);
  /// Runs `task` on this loop's thread soon; false once it has stopped.
  bool post(std::function<void()> task);
  /// The loop whose thread this is (null on other threads).
  static thread_local EventLoop* current_loop;
  const CounterTable& counters() const noexcept { return counters_; }
  /// How long fan-outs take: from a publication's delivery to the last of
  /// its subscribers' queues written.
  const Histogram& fanout_seconds() const noexcept { return fanout_seconds_; }

 private:
  // event_loop.cpp
  /// run()'s body: set up, then turns until stopped. May throw.
  void serve();
  /// After serve(), even when it threw: answers every publisher and message
  /// still waiting, each step even if one before it threw. Returns the first
  /// exception a step threw (null after a failure: then it is logged).
  std::exception_ptr close_down(bool failed);
  void turn(std::span<const epoll_event> events);
  void process_mailbox();
  void publish_on_loop(std::string_view token, Event event, bool close_after, std::promise<PublishResult>* reply);
  void take_back(Connection& c, bool keep_alive);
  void housekeeping();
  void begin_stop();
  void after_grace();
  int next_timeout_ms() const;
  void update_counters();

  // connections.cpp
  void resume_accepting();
  void accept_ready();
  Connection* add_connection(AcceptedSocket&& socket);
  void destroy(Connection& c);
  bool watch(Connection& c);
  /// Takes `c` out of the poller (`why` names the occasion in the log);
  /// false when that failed and `c` was closed: left registered, the loop
  /// would read bytes meant for a worker, another loop or a later answer.
  bool leave_poller(Connection& c, const char* why);
  /// Re-registers `c` for its wanted events; false when that failed and
  /// `c` was closed.
  bool update_events(Connection& c);
  void on_event(Connection& c, std::uint32_t flags);
  void continue_handshake(Connection& c);
  void on_readable(Connection& c);
  Connection* find(int fd) const noexcept {
    return fd >= 0 && static_cast<std::size_t>(fd) < connections_.size() ? connections_[static_cast<std::size_t>(fd)].get()
                                                                         : nullptr;
  }
  Connection* find(QueueRef ref) const noexcept {
    Connection* c = find(ref.fd);
    return c && c->serial == ref.serial ? c : nullptr;
  }

  // request_intake.cpp
  void read_head(Connection& c);
  void try_request(Connection& c);
  void route(Connection& c, const http::RequestHead& head, std::size_t head_size);
  void receive_body(Connection& c, const http::RequestHead& head, std::size_t head_size);
  void read_body(Connection& c);
  void send_continue(Connection& c);
  bool try_body(Connection& c);
  void hand_off(Connection& c);

  // small_requests.cpp
  /// The request's body is in: answers it here (served_here) or hands it off.
  void finish_request(Connection& c);
  /// Answers a served_here request whose body is in; `head` views `c.input`.
  void serve_here(Connection& c, const http::RequestHead& head);
  bool serves_here(const http::RequestHead& head) const;
  void serve_admin(Connection& c, const http::RequestHead& head, std::string_view path);
  void serve_publish(Connection& c, const http::RequestHead& head, const std::string& action, const std::string& token,
                     std::string_view query, std::string_view body);
  void publish_from_loop(std::string_view token, Event event, bool close_after, std::function<void(PublishResult)> reply);
  /// Answers the request just read and keeps the connection (or closes it
  /// when the client asked so, or the server stops).
  void answer(Connection& c, const http::RequestHead& head, int status, std::string_view content_type,
              std::string_view body, std::string_view extra_headers);
  void deliver_answer(Connection& c, const PublishResult& r, bool keep_alive, int minor, const std::string& cors_lines,
                      std::string rest);
  /// `rest`: bytes after the request (a pipelined next one).
  void send_answer(Connection& c, int status, std::size_t body_size, SharedBytes bytes, bool keep_alive, std::string rest);
  /// Pipelined requests behind an answer, taken at the end of the turn.
  void take_next_requests();
  void respond_and_close(Connection& c, int status, std::string_view message, std::string_view extra_headers = {});
  void log_access(const Connection& c, int status, std::string_view detail) const;

  // Spreading subscriptions (event_loop.cpp, AcceptMode::spread).
  /// The loop that should serve the next subscription; null: this one.
  EventLoop* subscription_loop();
  void move_to(EventLoop& target, Connection& c);
  void adopt(std::unique_ptr<Connection> c);

  // The home loop (event_loop.cpp).
  bool is_home() const noexcept { return home_ == this; }
  /// Runs `task` with the home loop on its thread: now on the home loop,
  /// else through its mailbox. False when it has stopped.
  bool at_home(std::function<void(EventLoop& home)> task);
  /// Runs `task` on this loop: at once on its thread, else posted in a batch.
  void here(std::function<void()> task);
  /// As post(), but from another loop's thread the task waits in that
  /// loop's outbox until it has handled what it read this turn, and goes
  /// with the rest for this loop in one push and at most one wake-up
  /// (dropped, as post() drops it, if this loop has stopped by then).
  void post_batched(std::function<void()> task);
  /// Sends what post_batched() gathered on this thread's loop.
  void flush_outbox();
  void follow(const std::string& token);
  void unfollow(const std::string& token);
  /// Home loop: `loop` has written the backlog ahead of the first `count`
  /// publications posted to it (publishers waiting on it may be answered).
  void remote_written(std::size_t loop, std::uint64_t count);
  /// Another loop: a publication from the home loop is about to be queued.
  void note_remote_delivery();
  /// Another loop: tells the home loop which of them have had their backlog written.
  void acknowledge_remote_deliveries();
  /// Home loop: what a publisher answered now must wait for on the other loops.
  std::uint64_t remote_backlog_mark() const noexcept {
    const std::uint64_t sent = remote_backlog_.last_sent();
    return sent > loop_limits::remote_backlog_window ? sent - loop_limits::remote_backlog_window : 0;
  }

  // Reactor (event_loop.cpp): descriptors and timers lent to the store.
  int watch(int fd, std::uint32_t events, IoHandler& handler) override;
  void unwatch(int fd) override;
  TimerId call_after(std::chrono::milliseconds delay, std::function<void()> callback) override;
  void cancel(TimerId timer) override;
  Clock::time_point now() const override { return now_; }
  void run_timers();

  // fanout.cpp
  void deliver(std::string_view token, const PublicationPtr& publication, bool close_after) override;
  void enqueue(Connection& c, const SharedBytes& bytes, bool is_event);
  void mark_dirty(Connection& c);
  void flush(Connection& c);
  /// Writes at most `budget` of the queues marked dirty.
  void flush_dirty(std::size_t budget);
  void cut_off_slow();
  void send_keepalives();

  // subscribers/subscription.cpp
  void subscribe(Connection& c, const http::RequestHead& head, std::string_view encoded_token, std::string_view query);
  /// Writes the stream's head, then its replay (or latest event) if asked.
  void open_stream(Connection& c, const SharedBytes& head, const std::string& last_id);
  void replay_to(Connection& c, const std::string& last_id);
  void join_replay(QueueRef ref, std::string last_id, Replay replay);
  void read_stream_input(Connection& c);
  /// Ends a stream; with `flush_first` what is queued (a close frame) is
  /// written before the connection closes.
  void end_subscription(Connection& c, CloseReason reason, bool flush_first = false);
  void start_closing(Connection& c);
  SubscriberInfo info_of(const Connection& c) const;

  const ServerOptions& options_;
  const Log& log_;
  const CorsPolicy& cors_;
  const LoopHooks& hooks_;
  std::vector<const SubscriberKind*> kinds_;
  Broker& broker_;
  SocketIoFactory make_io_;
  const JwtVerifier* subscribe_auth_;
  const EndpointContext* endpoints_;
  std::function<void(Connection&)> hand_off_;
  const std::size_t index_;
  EventLoop* const home_;
  const bool reuse_port_;
  const bool listens_;
  const std::vector<std::unique_ptr<EventLoop>>* spread_to_;
  std::size_t next_spread_ = 0;
  SubscriberCensus& census_;
  /// What the broker (on the home loop) calls to deliver to this loop.
  class RemoteSink final : public PublicationSink {
   public:
    explicit RemoteSink(EventLoop& loop) : loop_(loop) {}
    void deliver(std::string_view token, const PublicationPtr& publication, bool close_after) override;

   private:
    EventLoop& loop_;
  } remote_sink_{*this};

  Poller poller_;
  Mailbox<LoopMessage> mailbox_;
  struct Outgoing {
    EventLoop* to;
    std::vector<LoopMessage> messages;
  };
  std::vector<Outgoing> outbox_; // post_batched(), per loop, in the order first used
  std::unordered_map<int, IoHandler*> watched_; // Reactor::watch, by descriptor
  std::map<std::pair<LoopClock::time_point, TimerId>, std::function<void()>> timers_;
  std::unordered_map<TimerId, LoopClock::time_point> timer_due_;
  TimerId next_timer_ = 1;
  std::unique_ptr<ListenSocket> listener_;
  std::atomic<std::uint16_t> port_{0};
  std::atomic<std::thread::id> loop_thread_{};

  std::vector<std::unique_ptr<Connection>> connections_; // indexed by descriptor
  std::size_t open_connections_ = 0;
  std::size_t handed_off_ = 0;
  std::uint64_t next_serial_ = 1;
  Registry registry_;
  FanoutScheduler scheduler_;
  std::vector<QueueRef> slow_; // over max_queue, to cut off
  std::vector<QueueRef> next_requests_; // connections with a pipelined request to take
  std::vector<char> scratch_;  // every read lands here first
  std::vector<LoopMessage> messages_;
  std::size_t messages_taken_ = 0; ///< of messages_, by process_mailbox()
  CounterTable counters_;
  Histogram fanout_seconds_;
  struct Fanout {
    std::uint64_t after_marks; ///< done once the scheduler has taken this many marks
    LoopClock::time_point started;
  };
  std::deque<Fanout> fanouts_;
  /// Home loop: the other loops' backlog (publishers wait for it too).
  RemoteBacklog remote_backlog_;
  /// Other loops: for each publication from the home loop not yet
  /// acknowledged, oldest first, the marks taken once its backlog is written.
  std::deque<std::uint64_t> remote_deliveries_;
  std::uint64_t remote_acknowledged_ = 0; ///< publications from the home loop acknowledged
  std::uint64_t delivered_ = 0;
  std::uint64_t bytes_written_ = 0;

  LoopClock::time_point now_{};
  LoopClock::time_point next_keepalive_{};
  LoopClock::time_point next_housekeeping_{};
  LoopClock::time_point accept_paused_until_{};
  bool accept_paused_ = false;
  bool descriptors_exhausted_ = false; // logged once until an accept succeeds again

  bool stopping_ = false;
  bool grace_over_ = false;
  LoopClock::time_point grace_deadline_{};
  LoopClock::time_point hard_deadline_{};
};

}  // namespace es
