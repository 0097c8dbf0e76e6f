// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// A reconnecting server-sent events client: the EventSource of a browser, as
// the WHATWG HTML standard ("Server-sent events") describes it.
//
//   es::ClientOptions options;
//   options.url = "http://127.0.0.1:8888/poll/token";
//   es::Client client(options, {.on_event = [](const es::Event& e) { ... }});
//   client.start();            // or run() on this thread
//   ...
//   client.stop();             // from any thread; returns at once
//
// - Connects with GET, `Accept: text/event-stream`, and `Last-Event-ID` once
//   an id is known; follows redirects.
// - Only `200` with `Content-Type: text/event-stream` opens a stream. 204,
//   any other status and any other type stop reconnection (WHATWG "fail the
//   connection"), unless ClientOptions::keep_going.
// - When a stream ends, or a connection cannot be made, it waits the
//   reconnection time (the server's `retry:` wins over the policy; attempts
//   that fail in a row back off, see es/reconnect.hpp) and connects again.
//   A stream that ends within a second without an event counts as a failed
//   attempt too, so a server that accepts and drops at once is not hammered.
// - Stream bytes go through es::Parser: nothing of the format is re-done here.

#include <es/export.hpp>
#include <es/event.hpp>
#include <es/header.hpp>
#include <es/parser.hpp>
#include <es/reconnect.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace es {

/// Why an attempt failed or a stream broke.
enum class FailureKind {
  // Retried: the next attempt may well succeed.
  name_lookup,     ///< the host name does not resolve
  refused,         ///< nothing listens on the port
  unreachable,     ///< no route to the host or its network
  connect_timeout, ///< the connection was not accepted in time
  connect_failed,  ///< any other failure to connect
  tls,             ///< the TLS handshake or the certificate check failed
  no_response,     ///< connected, but the server closed before a complete answer
  timed_out,       ///< connected, but no answer came in time
  lost,            ///< an open stream broke: read error or idle timeout
  too_large,       ///< a line or an event over ParserLimits; connection dropped
  // Fatal: reconnection stops (unless ClientOptions::keep_going).
  http_status,     ///< a status other than 200 and 204
  no_content,      ///< 204 No Content: the server's way of saying "do not reconnect"
  content_type,    ///< 200, but not text/event-stream
  redirects,       ///< too many redirects, or one that cannot be followed
};

/// True for the kinds that stop reconnection (WHATWG "fail the connection").
ES_API bool is_fatal(FailureKind kind) noexcept;
/// A stable short name: "refused", "http_status", ...
ES_API std::string_view name_of(FailureKind kind) noexcept;

struct ClientError {
  FailureKind kind = FailureKind::connect_failed;
  /// For people, naming the server:
  /// "cannot reach 127.0.0.1:8888: connection refused",
  /// "127.0.0.1:8888 answered 423 Locked: Token is already in use".
  std::string message;
  /// The HTTP status, for http_status, no_content and content_type; else 0.
  int status = 0;
  /// The server's reason: the first line of a text error body, or "".
  std::string reason;
  /// Whether the client connects again after this error.
  bool will_retry = false;
  /// When it does: the delay before the next attempt.
  std::chrono::milliseconds retry_in{0};
};

struct ClientOptions {
  /// http:// or https:// (see es/url.hpp). Credentials in the URL are used
  /// for basic auth unless `username` is set.
  std::string url;
  /// Reconnection time and backoff; the server's `retry:` replaces `initial`.
  ReconnectPolicy reconnect{};
  /// Sent with every request (after the client's own headers, which they cannot replace:
  /// Accept, Last-Event-ID, Cache-Control, Accept-Encoding).
  std::vector<Header> headers;
  /// Basic auth when non-empty.
  std::string username;
  std::string password;
  /// Sent as Last-Event-ID on the first connection (resuming a stream). Must
  /// not hold CR, LF or NUL.
  std::string last_event_id;
  /// Reconnect even after a fatal answer (eventsource-client -k).
  bool keep_going = false;
  /// Check the server's TLS certificate and name.
  bool verify_tls = true;
  /// A PEM file of certificate authorities; empty: the system's.
  std::string ca_file;
  /// How long a connection (and TLS handshake) may take.
  std::chrono::milliseconds connect_timeout{10000};
  /// An open stream with no bytes for this long is dropped and reconnected;
  /// 0 waits forever. (A server that sends keepalive comments every K ms is
  /// well served by a few times K.)
  std::chrono::milliseconds idle_timeout{0};
  ParserLimits limits{};
};

/// What on_open is told.
struct OpenInfo {
  /// The Last-Event-ID sent with this request ("" for none).
  std::string last_event_id;
  /// Streams opened before this one (0 for the first).
  unsigned reconnects = 0;
};

class ES_API Client {
 public:
  /// Called on the thread that runs the client. They may call stop(); they
  /// must not call run(), start() or wait(), nor destroy the client.
  struct Handlers {
    /// A dispatched event. `retry` is set when a valid `retry:` field came
    /// since the previous event; `id` is the stream's last event id.
    std::function<void(const Event&)> on_event{};
    /// A 200 text/event-stream response arrived: the stream is open.
    std::function<void(const OpenInfo&)> on_open{};
    /// An attempt failed or a stream broke; `will_retry` says what follows.
    std::function<void(const ClientError&)> on_error{};
    /// An open stream ended (after its last event; before on_error if it
    /// broke). Once per on_open.
    std::function<void()> on_close{};
    /// A comment line (keepalives), without the colon. Optional.
    std::function<void(std::string_view)> on_comment{};
    /// What the client does, for a debug log ("connecting to ...",
    /// "reconnecting in 3000 ms"). Optional.
    std::function<void(std::string_view)> on_debug{};
  };

  /// Throws std::invalid_argument for a URL parse_url() refuses or a
  /// last_event_id holding CR, LF or NUL.
  Client(ClientOptions options, Handlers handlers);
  /// Stops and waits for the client's thread, if start() made one.
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  /// Connects and reconnects on the calling thread until stop() or a fatal
  /// error. Returns nullopt after stop(), else the error that ended it.
  /// Exceptions thrown by a handler end the run and propagate from here.
  /// A client runs once: a second run() or start() throws std::logic_error.
  std::optional<ClientError> run();
  /// run() on a thread of the client's own.
  void start();
  /// After start(): waits for the run to end and returns what run() returned
  /// (rethrowing a handler's exception).
  std::optional<ClientError> wait();
  /// After start(): true once the run has ended, waiting up to `timeout`.
  bool wait_for(std::chrono::milliseconds timeout);

  /// Ends the run promptly from any thread (or a handler): a reconnection
  /// wait is cut short and an open connection is shut down. Idempotent.
  void stop() noexcept;

  /// The id the next connection sends as Last-Event-ID. Thread-safe.
  std::string last_event_id() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace es
