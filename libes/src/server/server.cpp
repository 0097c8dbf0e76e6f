// SPDX-License-Identifier: GPL-3.0-or-later
// es::Server: the parts of a server put together (docs/architecture.md) —
// the subscriber kinds, the store and the broker, the event loop, and the
// workers that run cpp-httplib on handed-off requests.
#include <es/server.hpp>

#include "common/log.hpp"
#include "http/body_budget.hpp"
#include "http/cors.hpp"
#include "http/request_head.hpp"
#include "net/cidr.hpp"
#include "net/io/plain_socket_io.hpp"
#include "net/io/tls_context.hpp"
#include "net/io/tls_socket_io.hpp"
#include "server/auth/jwt_verifier.hpp"
#include "server/endpoints/endpoints.hpp"
#include "server/endpoints/handoff_stream.hpp"
#include "server/endpoints/http_handoff.hpp"
#include "server/loop/event_loop.hpp"
#include "server/metrics/prometheus.hpp"
#include "server/metrics/stats_json.hpp"
#include "server/pubsub/broker.hpp"
#include "server/pubsub/publication.hpp"
#include "server/store/memory/memory_store.hpp"
#include "server/store/redis/redis_store.hpp"
#include "server/subscribers/sse_kind.hpp"
#include "server/subscribers/websocket_kind.hpp"

#include <httplib.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace es {
namespace {

void validate(const ServerOptions& o) {
  if (o.workers == 0) throw std::invalid_argument("es::Server: workers must be at least 1");
  if (o.threads > 64) throw std::invalid_argument("es::Server: threads must be at most 64");
  if (o.listen_action.empty() || o.listen_action.find('/') != std::string::npos)
    throw std::invalid_argument("es::Server: the listen action must be one path segment, not \"" + o.listen_action +
                                "\"");
  if (!o.kind.transform) throw std::invalid_argument("es::Server: the event kind has no data transform");
  if (o.tls_key_file.empty() != o.tls_cert_file.empty())
    throw std::invalid_argument("es::Server: TLS needs both a key file and a certificate file");
}

std::unique_ptr<JwtVerifier> jwt_verifier(const std::string& key, const char* option) {
  if (key.empty()) return nullptr;
  try {
    return std::make_unique<JwtVerifier>(key);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("es::Server: ") + option + ": " + e.what());
  }
}

std::unique_ptr<TlsContext> tls_context(const ServerOptions& o) {
  if (o.tls_key_file.empty()) return nullptr;
  try {
    return std::make_unique<TlsContext>(o.tls_key_file, o.tls_cert_file);
  } catch (const std::runtime_error& e) {
    throw std::invalid_argument(std::string("es::Server: ") + e.what());
  }
}

std::vector<Cidr> admin_ranges(const std::vector<std::string>& texts) {
  std::vector<Cidr> ranges;
  for (const std::string& text : texts) {
    auto range = Cidr::parse(text);
    if (!range) throw std::invalid_argument("es::Server: admin_allow: " + range.error());
    ranges.push_back(*range);
  }
  return ranges;
}

HistoryLimits history_limits(const ServerOptions& o) {
  // Without ids nothing can be replayed; --latest still needs each token's newest event.
  std::size_t events = o.kind.ids ? o.history_events : 0;
  if (o.latest) events = std::max<std::size_t>(events, 1);
  if (events == 0) return {};
  return {events, o.history_age, o.history_memory};
}

std::unique_ptr<EventStore> make_store(const ServerOptions& o, const Framer& framer, const Log& log) {
  if (o.redis_url.empty()) return std::make_unique<MemoryStore>(history_limits(o), o.kind.ids, framer);
  auto address = RedisAddress::parse(o.redis_url);
  if (!address) throw std::invalid_argument("es::Server: " + address.error());
  if (o.redis_prefix.empty()) throw std::invalid_argument("es::Server: the Redis prefix must not be empty");
  RedisStoreOptions r{*address, o.redis_prefix, o.kind, o.history_events, o.history_age, o.max_body};
  return std::make_unique<RedisStore>(std::move(r), framer, log);
}

std::size_t thread_count(unsigned wanted) {
  if (wanted != 0) return wanted;
  const unsigned cores = std::thread::hardware_concurrency();
  return cores == 0 ? 1 : std::min(cores, 64u);
}

}  // namespace

std::optional<std::string_view> SubscriberInfo::header(std::string_view name) const {
  for (const auto& h : headers)
    if (http::equals_ignoring_case(h.name, name)) return h.value;
  return std::nullopt;
}

std::string_view to_string(CloseReason reason) noexcept {
  switch (reason) {
    case CloseReason::client_closed: return "client closed";
    case CloseReason::token_closed: return "token closed";
    case CloseReason::slow_consumer: return "slow consumer";
    case CloseReason::write_failed: return "write failed";
    case CloseReason::server_stopped: return "server stopped";
    case CloseReason::protocol_error: return "protocol error";
  }
  return "unknown";
}

class Server::Impl {
 public:
  explicit Impl(ServerOptions options)
      : options_((validate(options), std::move(options))),
        log_(options_.log, options_.debug, options_.log_format, options_.access_log),
        cors_(options_.cors_origins),
        websocket_(options_.kind.json_data, cors_),
        framer_({&websocket_, &sse_}),
        store_(make_store(options_, framer_, log_)),
        broker_(*store_, framer_),
        tls_(tls_context(options_)),
        publish_auth_(jwt_verifier(options_.publish_key, "publish_key")),
        subscribe_auth_(jwt_verifier(options_.subscribe_key, "subscribe_key")),
        endpoints_{options_, cors_, log_,
                   [this](std::string_view token, std::string_view action, std::string_view body) {
                     return publish(token, action, body);
                   },
                   [this] { return stats_json(); },
                   [this] { return metrics(); },
                   [this] { return unhealthy_reason(); },
                   admin_ranges(options_.admin_allow), publish_auth_.get(), &check_publish_},
        threads_(thread_count(options_.threads)) {
    // One loop per thread; the first (home) runs the broker and the store.
    for (std::size_t i = 0; i < threads_; ++i) {
      loops_.push_back(std::make_unique<EventLoop>(LoopSetup{
          options_, log_, cors_, hooks_, {&websocket_, &sse_}, broker_,
          tls_ ? tls_socket_io(*tls_) : plain_socket_io(), subscribe_auth_.get(), &endpoints_, i,
          i == 0 ? nullptr : loops_[0].get(), reuse_port(), i == 0 || reuse_port(),
          i == 0 && !reuse_port() ? &loops_ : nullptr, &census_,
          [this, i](Connection& c) { pool_->enqueue([this, &c, i] { serve(c, *loops_[i]); }); }, threads_}));
    }
    http_.set_read_timeout(std::chrono::duration_cast<std::chrono::seconds>(options_.request_timeout).count());
    http_.set_keep_alive_timeout(std::chrono::duration_cast<std::chrono::seconds>(options_.idle_timeout).count());
    install_endpoints(http_, endpoints_);
  }

  ~Impl() {
    stop();
    if (thread_.joinable()) thread_.join();
  }

  CheckPublish& check_publish() {
    std::lock_guard lock(mutex_);
    if (state_ != State::idle) throw std::logic_error("es::Server: set hooks before start() or run()");
    return check_publish_;
  }

  LoopHooks& hooks() {
    std::lock_guard lock(mutex_);
    if (state_ != State::idle) throw std::logic_error("es::Server: set hooks before start() or run()");
    return hooks_;
  }

  void bind() {
    home().bind();
    if (reuse_port())
      for (std::size_t i = 1; i < loops_.size(); ++i) loops_[i]->bind(home().port());
  }
  bool reuse_port() const { return threads_ > 1 && options_.accept == AcceptMode::reuseport; }
  std::uint16_t port() const { return loops_[0]->port(); }

  void run() {
    {
      std::lock_guard lock(mutex_);
      if (state_ != State::idle) throw std::logic_error("es::Server: run() or start() called twice");
      state_ = State::running;
    }
    try {
      serve_until_stopped();
    } catch (...) {
      std::lock_guard lock(mutex_);
      state_ = State::stopped;
      throw;
    }
  }

  void start() {
    {
      std::lock_guard lock(mutex_);
      if (state_ != State::idle) throw std::logic_error("es::Server: run() or start() called twice");
      bind(); // errors surface here, on the caller's thread
      state_ = State::running;
    }
    // The socket listens already: connects queue in the backlog until the loop takes them.
    thread_ = std::thread([this] {
      try {
        serve_until_stopped();
      } catch (...) {
        // Logged where it happened (serve_until_stopped); nobody else is told.
        std::lock_guard lock(mutex_);
        state_ = State::stopped;
      }
    });
  }

  void stop() {
    stopping_ = true;
    for (auto& loop : loops_) loop->request_stop();
    for (auto& loop : loops_)
      if (loop->on_loop_thread()) return; // from a hook: the loops stop after this turn
    std::thread to_join;
    {
      std::lock_guard lock(mutex_);
      if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) to_join = std::move(thread_);
    }
    if (to_join.joinable()) to_join.join();
  }

  PublishResult publish(std::string_view token, Event event, bool close_after) {
    if (!running()) {
      PublishResult r;
      r.status = PublishStatus::not_running;
      r.message = "Server is not running";
      return r;
    }
    return home().publish(std::string(token), std::move(event), close_after);
  }

  PublishResult publish(std::string_view token, std::string_view action, std::string_view body) {
    PublishResult r;
    if (!options_.kind.allows(action)) {
      r.status = PublishStatus::unknown_action;
      r.message = "Unknown action requested";
      return r;
    }
    // The data transform (JSON parsing) runs on the caller's thread, not the loop's.
    auto event = options_.kind.make_event(action, body);
    if (!event) {
      r.status = PublishStatus::bad_data;
      r.message = "Data is not properly formatted: " + event.error();
      return r;
    }
    return publish(token, std::move(event).value(), action == close_action);
  }

  CounterSnapshot counters() const {
    std::vector<const CounterTable*> tables;
    for (const auto& loop : loops_) tables.push_back(&loop->counters());
    return sum(tables);
  }

  double uptime_seconds() const {
    std::lock_guard lock(mutex_);
    if (state_ == State::idle) return 0;
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started_at_).count();
  }

  ServerStats stats() const {
    const CounterSnapshot c = counters();
    ServerStats s;
    s.tokens = c[Counter::tokens];
    s.subscribers = c[Counter::subscribers];
    s.connections = c[Counter::connections];
    s.events_published = c[Counter::events_published];
    s.events_delivered = c[Counter::events_delivered];
    s.slow_disconnects = c[Counter::slow_disconnects];
    s.refused_connections = c[Counter::refused_connections];
    s.history_bytes = c[Counter::history_bytes];
    s.history_evictions = c[Counter::history_evictions];
    s.log_lines_dropped = c[Counter::log_lines_dropped];
    s.redis_connected = c[Counter::redis_connected] != 0;
    s.redis_reconnects = c[Counter::redis_reconnects];
    s.redis_skipped_entries = c[Counter::redis_skipped_entries];
    s.uptime_seconds = uptime_seconds();
    return s;
  }

  bool reload_certificates() {
    if (!tls_) return false;
    try {
      tls_->reload();
      log_.info("reloaded the TLS key and certificate (" + tls_->cert_file() + ")");
      return true;
    } catch (const std::exception& e) {
      log_.error(std::string(e.what()) + "; keeping the current key and certificate");
      return false;
    }
  }

  std::string stats_json() const { return render_stats_json(counters(), uptime_seconds()); }

  std::string metrics() const {
    MetricsSnapshot m;
    m.counters = counters();
    for (const auto& loop : loops_) loop->fanout_seconds().add_to(m.fanout_seconds);
    m.kind_names = kind_names_;
    m.uptime_seconds = uptime_seconds();
    m.version = ES_VERSION;
    return render_prometheus(m);
  }

  std::string unhealthy_reason() const {
    if (stopping_.load()) return "Server is shutting down";
    if (!running()) return "Server is not running";
    return store_->unhealthy_reason();
  }

 private:
  enum class State { idle, running, stopped };

  bool running() const {
    std::lock_guard lock(mutex_);
    return state_ == State::running;
  }

  void serve_until_stopped() {
    bind();
    {
      std::lock_guard lock(mutex_);
      started_at_ = std::chrono::steady_clock::now();
    }
    try {
      pool_ = std::make_unique<httplib::ThreadPool>(options_.workers);
    } catch (const std::exception& e) { // before any loop runs: nothing to stop
      log_.error(std::string("server failed: cannot start the worker threads: ") + e.what());
      throw;
    }
    // A loop that fails stops the server: its streams would otherwise hang
    // while the others went on. The first failure is rethrown by run().
    std::mutex failure_mutex;
    std::exception_ptr failure;
    const auto fail = [&](std::size_t index, std::exception_ptr error) {
      try {
        std::rethrow_exception(error);
      } catch (const std::exception& e) {
        log_.error("event loop " + std::to_string(index) + " failed: " + e.what() + "; stopping");
      } catch (...) {
        log_.error("event loop " + std::to_string(index) + " failed; stopping");
      }
      {
        std::lock_guard lock(failure_mutex);
        if (!failure) failure = error;
      }
      stopping_ = true;
      for (auto& loop : loops_) loop->request_stop();
    };
    std::vector<std::thread> others;
    try {
      for (std::size_t i = 1; i < loops_.size(); ++i)
        others.emplace_back([this, i, &fail] {
          try {
            loops_[i]->run();
          } catch (...) {
            fail(i, std::current_exception());
          }
        });
    } catch (...) { // no thread for a loop: stop those already running
      fail(others.size() + 1, std::current_exception());
    }
    if (loops_.size() > 1)
      log_.info(std::to_string(loops_.size()) + " event loops (--threads), " +
                (reuse_port() ? "each listening (--accept reuseport)"
                              : "the first accepting and spreading subscriptions (--accept spread)"));
    try {
      home().run(); // returns at once, its streams ended, if a failure asked it to stop
    } catch (...) {
      fail(0, std::current_exception());
    }
    for (auto& loop : loops_) loop->request_stop(); // the home loop may have stopped on its own
    for (auto& t : others) t.join();
    {
      std::lock_guard lock(mutex_);
      state_ = State::stopped;
    }
    // Workers finish their request (the loops aborted their sockets at the
    // end of the grace period) before what is left is closed, on every
    // path: a pool left running would end the process when destroyed.
    pool_->shutdown();
    pool_.reset();
    for (auto& loop : loops_) loop->finish();
    if (failure) std::rethrow_exception(failure);
    log_.info("stopped");
  }

  // On a worker: one request on a handed-off connection.
  void serve(Connection& c, EventLoop& loop) {
    bool keep_alive = false;
    {
      HandoffStream stream(c, options_.request_timeout, http::raw_body_budget(options_.max_body));
      keep_alive = http_.serve_one(stream);
      c.input = stream.take_unread();
    }
    loop.give_back(c, keep_alive);
  }

  ServerOptions options_;
  Log log_;
  CorsPolicy cors_;
  LoopHooks hooks_;
  // Asked in this order: WebSocket takes upgrades, SSE the rest.
  WebSocketKind websocket_;
  SseKind sse_;
  std::array<std::string_view, 2> kind_names_{websocket_.name(), sse_.name()};
  Framer framer_;
  std::unique_ptr<EventStore> store_;
  Broker broker_;
  HttpHandoff http_;
  std::unique_ptr<httplib::ThreadPool> pool_;
  std::unique_ptr<TlsContext> tls_;
  std::unique_ptr<JwtVerifier> publish_auth_;
  std::unique_ptr<JwtVerifier> subscribe_auth_;
  CheckPublish check_publish_;
  EndpointContext endpoints_;
  std::size_t threads_;
  SubscriberCensus census_{options_.exclusive, options_.max_subscribers};
  std::vector<std::unique_ptr<EventLoop>> loops_;
  EventLoop& home() { return *loops_[0]; }

  mutable std::mutex mutex_;
  State state_ = State::idle;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::chrono::steady_clock::time_point started_at_{};
};

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Server::~Server() = default;

void Server::on_check_connection(CheckConnection hook) { impl_->hooks().check_connection = std::move(hook); }
void Server::on_open(OpenHook hook) { impl_->hooks().on_open = std::move(hook); }
void Server::on_close(CloseHook hook) { impl_->hooks().on_close = std::move(hook); }
void Server::on_check_publish(CheckPublish hook) { impl_->check_publish() = std::move(hook); }

void Server::bind() { impl_->bind(); }
std::uint16_t Server::port() const { return impl_->port(); }
void Server::run() { impl_->run(); }
void Server::start() { impl_->start(); }
void Server::stop() { impl_->stop(); }

PublishResult Server::publish(std::string_view token, Event event) {
  return impl_->publish(token, std::move(event), false);
}

PublishResult Server::publish(std::string_view token, std::string_view action, std::string_view body) {
  return impl_->publish(token, action, body);
}

ServerStats Server::stats() const { return impl_->stats(); }

bool Server::reload_certificates() { return impl_->reload_certificates(); }

}  // namespace es
