// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// The embeddable server: token-keyed event streams (GET /poll/TOKEN) and
// publishing (POST /ACTION/TOKEN, or publish() from code), the protocol of
// eventsource-server (see its man page).
//
//   es::ServerOptions options;
//   options.port = 0;
//   es::Server server(options);
//   server.on_check_connection([](const es::SubscriberInfo& s) -> std::optional<es::Refusal> {
//     if (s.header("Authorization") != "Bearer sesame") return es::Refusal{403, "Forbidden"};
//     return std::nullopt;
//   });
//   server.start();                                   // serves on a thread of its own
//   server.publish("alice", "ping", "hello");         // from any thread
//   server.stop();
//
// Threads: `threads` event loops (ServerOptions) each own their connections
// and answer publishes, /stats, /metrics, /health and CORS preflights
// themselves; `workers` threads serve what is left (the demo page, 404s,
// chunked bodies) with cpp-httplib. Hooks run on the loop that serves the
// connection (with several loops, on several threads at once): keep them
// short, thread-safe, and never block in them (publish() from a hook is fine).

#include <es/event.hpp>
#include <es/export.hpp>
#include <es/header.hpp>
#include <es/server_options.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace es {

/// A subscriber, as the hooks see it. The views are valid during the hook
/// call only: copy what you keep.
struct ES_API SubscriberInfo {
  /// Unique for the server's lifetime; pairs on_open with on_close.
  std::uint64_t id = 0;
  std::string_view token;
  /// "IP:PORT" of the peer.
  std::string_view remote;
  /// Last-Event-ID (header or ?lastEventId=), or empty.
  std::string_view last_event_id;
  /// The request's headers (check_connection only; empty in on_open/on_close).
  std::span<const HeaderView> headers;
  /// The subscriber kind: "sse" (EventSource) or "websocket".
  std::string_view kind;

  /// The first header named `name` (case-insensitive), or nullopt.
  std::optional<std::string_view> header(std::string_view name) const;
};

/// A publish request, as on_check_publish sees it (views valid during the call).
struct PublishInfo {
  std::string_view token;
  std::string_view action;
  /// "IP:PORT" of the peer.
  std::string_view remote;
  std::span<const HeaderView> headers;
};

/// check_connection's answer to refuse a subscriber: sent as the status and
/// a text/plain body (a line end is added when missing).
struct Refusal {
  int status = 403;
  std::string message = "Forbidden";
};

/// Why a stream ended (on_close).
enum class CloseReason {
  client_closed,  ///< the client went away
  token_closed,   ///< the token's `close` action
  slow_consumer,  ///< its unsent bytes passed max_queue
  write_failed,   ///< a socket error
  server_stopped, ///< stop()
  protocol_error, ///< the client broke the protocol (a bad WebSocket frame)
};
ES_API std::string_view to_string(CloseReason reason) noexcept;

enum class PublishStatus {
  published,      ///< sent to `subscribers` streams (maybe 0 when stored)
  unknown_action, ///< the kind does not allow the action (HTTP 404)
  bad_data,       ///< the body is not valid for the kind (HTTP 400)
  not_connected,  ///< nobody subscribed and no history to keep it (HTTP 404)
  not_running,    ///< the server is not serving, or its store (Redis) is unreachable (HTTP 503)
  queued,         ///< published from a hook with an asynchronous store (Redis): sent, not yet
                  ///< confirmed; no id yet, and a failure is only logged
};

struct PublishResult {
  PublishStatus status = PublishStatus::published;
  /// The event's id; empty when the kind gives none.
  std::string id;
  /// Streams the event was queued to.
  std::size_t subscribers = 0;
  /// Nobody was subscribed; the event was kept in history for replay.
  bool stored = false;
  /// For a failure: what went wrong, as the HTTP API answers it
  /// ("Unknown action requested", "Data is not properly formatted: ...").
  std::string message;

  explicit operator bool() const noexcept { return status == PublishStatus::published; }
};

/// A snapshot of the counters (GET /stats).
struct ServerStats {
  std::size_t tokens = 0;
  std::size_t subscribers = 0;
  std::size_t connections = 0;         ///< open connections of every kind
  std::uint64_t events_published = 0;  ///< accepted publishes
  std::uint64_t events_delivered = 0;  ///< events written completely to a subscriber
  std::uint64_t slow_disconnects = 0;  ///< subscribers cut off at max_queue
  std::uint64_t refused_connections = 0; ///< refused for lack of descriptors
  std::size_t history_bytes = 0;       ///< bytes kept for replay and latest (history_memory bounds it)
  std::uint64_t history_evictions = 0; ///< events dropped to stay within history_memory
  std::uint64_t log_lines_dropped = 0; ///< lines lost because stderr did not keep up
  bool redis_connected = false;        ///< with redis_url: connected and set up now
  std::uint64_t redis_reconnects = 0;  ///< connections to Redis made again after one was lost
  std::uint64_t redis_skipped_entries = 0; ///< entries/messages from outside that could not be delivered
  double uptime_seconds = 0;
};

class ES_API Server {
 public:
  using CheckConnection = std::function<std::optional<Refusal>(const SubscriberInfo&)>;
  using OpenHook = std::function<void(const SubscriberInfo&)>;
  using CloseHook = std::function<void(const SubscriberInfo&, CloseReason)>;
  using CheckPublish = std::function<std::optional<Refusal>(const PublishInfo&)>;

  /// Throws std::invalid_argument for options that make no sense (0 workers,
  /// an empty or slashed listen action, a bad admin range, only one of the
  /// TLS files, a key or certificate that does not load).
  explicit Server(ServerOptions options);
  /// Stops (as stop()) and waits for the server to finish.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Hooks: set them before start()/run(). They run on the thread of the loop
  // that serves the connection; with several loops, concurrently.
  /// May refuse a new subscriber; tornado-eventsource's check_connection
  /// (whose return value upstream ignored).
  void on_check_connection(CheckConnection hook);
  /// A stream was opened (its head sent); once per subscriber.
  void on_open(OpenHook hook);
  /// A stream ended; once per subscriber that was opened.
  void on_close(CloseHook hook);
  /// May refuse a POST /ACTION/TOKEN (after the JWT check, before the body
  /// is made an event): an embedder's own authorization. Runs on the loop
  /// thread for every POST the loop reads (all but chunked ones, which a
  /// worker serves): it must be thread-safe and must not block.
  void on_check_publish(CheckPublish hook);

  /// Binds and listens (listen backlog 4096). Throws std::system_error
  /// naming the address when it cannot. Called by run()/start() if needed.
  void bind();
  /// The bound port (after bind(), start() or once run() is accepting).
  std::uint16_t port() const;

  /// Serves on the calling thread until stop(); then streams are flushed
  /// and closed (bounded by shutdown_grace) and it returns. Logs
  /// "listening on HOST:PORT" once accepting and "stopped" at the end.
  void run();
  /// run() on a thread of its own; returns once accepting.
  void start();
  /// Any thread, any number of times: stops accepting and ends every stream
  /// cleanly. Waits for the thread of start() (unless called from a hook);
  /// with run(), returns at once and run() returns on its own thread.
  void stop();

  /// Publishes `event` to `token` from any thread (event-source-library's
  /// buffer_event); the id is assigned here. Waits until the loop has queued
  /// it to every subscriber and written out what was queued before it
  /// (backpressure: a publisher is at most one fan-out ahead of delivery).
  /// Inline when called from a hook.
  PublishResult publish(std::string_view token, Event event);
  /// As a POST of `body` as `action`: the kind checks the action and turns
  /// the body into data; `close` then ends the token's streams.
  PublishResult publish(std::string_view token, std::string_view action, std::string_view body);

  /// With TLS: reads the key and certificate files again (eventsource-server
  /// does on SIGHUP). New connections get the new pair, open streams keep
  /// theirs. A pair that does not load is logged and the old one kept:
  /// returns false. Any thread.
  bool reload_certificates();

  /// Any thread.
  ServerStats stats() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace es
