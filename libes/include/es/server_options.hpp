// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// How an es::Server behaves: address, event kind, limits, logging. Every
// field has the default eventsource-server documents in its --help.

#include <es/event_kind.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace es {

/// How several event loops share the connections (ServerOptions::accept).
enum class AcceptMode { spread, reuseport };

/// How log lines are written: as text, or one JSON object a line.
enum class LogFormat { text, json };

struct ServerOptions {
  /// Address to bind: an IPv4 or IPv6 literal or a host name.
  std::string host = "0.0.0.0";
  /// 0 binds any free port; Server::port() tells which.
  std::uint16_t port = 8888;

  /// What a POST becomes: allowed actions, data transform, ids.
  EventKind kind = EventKind::string_events();
  /// GET /<listen_action>/TOKEN opens a stream (upstream Event.LISTEN).
  std::string listen_action{default_listen_action};
  /// One subscriber per token (the original's rule): a second one gets 423.
  bool exclusive = false;

  /// Events kept per token for Last-Event-ID replay, when the kind gives ids.
  std::size_t history_events = 1000;
  /// Kept events older than this are dropped; 0 = no age limit.
  std::chrono::seconds history_age{3600};
  /// Bytes kept for replay and --latest across all tokens; past it the
  /// oldest events of any token are dropped first. 0 = no bound.
  std::size_t history_memory = std::size_t{64} << 20;
  /// A new subscriber without Last-Event-ID first gets the token's latest
  /// stored event (tornadose's DataStore). Without ids the latest event of
  /// each token is kept for this.
  bool latest = false;

  /// Keepalive comment interval; 0 = none.
  std::chrono::milliseconds keepalive{15000};

  /// Largest POST body, in bytes (413 above).
  std::size_t max_body = 1 << 20;
  /// Most subscribers at once (503 above); 0 = only the descriptor limit.
  std::size_t max_subscribers = 0;
  /// Unsent bytes a subscriber may have queued before it is cut off.
  std::size_t max_queue = 4 << 20;
  /// Origins allowed to read responses from browser pages (CORS); "*" = any.
  std::vector<std::string> cors_origins;
  /// Client addresses (CIDR: "10.0.0.0/8", "::1") that may read /stats,
  /// /metrics and /health; others get 403. Loopback only by default.
  std::vector<std::string> admin_allow{"127.0.0.0/8", "::1"};

  /// Who may publish / subscribe: when set, a POST (a subscription) needs a
  /// JWT signed with this key whose "eventsource" claim allows the token
  /// (docs/auth.md). An HMAC secret, or "@FILE" naming a PEM public key
  /// (RS256/ES256 families). Empty: anyone may.
  std::string publish_key;
  std::string subscribe_key;

  /// HTTPS: a PEM private key and a PEM certificate (its chain after it).
  /// Both set: every connection is TLS (streams, WebSocket, every endpoint).
  std::string tls_key_file;
  std::string tls_cert_file;

  /// Redis store (docs/redis.md): "redis://[:password@]host[:port][/db]"
  /// or "unix:///path/redis.sock[?db=N]". Several servers on one Redis act
  /// as one; ids are stream entry ids; outside programs publish with XADD
  /// or PUBLISH. Empty: the memory store of this process. es::Server's
  /// constructor connects once to check it (blocking, 3 s at most) and
  /// throws std::invalid_argument when Redis cannot be used.
  std::string redis_url;
  /// Key and channel prefix: token T is the stream and the channel PREFIX+T.
  std::string redis_prefix = "es:";

  /// Event loops, each a thread owning its connections; 0 = one per core
  /// (at most 64). Hooks run on the loop that serves the connection.
  unsigned threads = 1;
  /// How several loops get their connections. `spread`: the first loop
  /// accepts every connection, keeps publishes and the other short requests
  /// (where ids are made: no thread crossing) and hands each subscription to
  /// the loops in turn. `reuseport`: every loop listens (SO_REUSEPORT) and the
  /// kernel spreads connections; a publish read by another loop crosses to
  /// the first and back.
  AcceptMode accept = AcceptMode::spread;
  /// Threads serving what the loops hand off to cpp-httplib (the demo page,
  /// 404s for other paths, chunked POST bodies).
  unsigned workers = 4;
  /// A request head (or a request body) must arrive within this.
  std::chrono::milliseconds request_timeout{10000};
  /// An idle keep-alive connection is closed after this.
  std::chrono::milliseconds idle_timeout{60000};
  /// On stop, streams get this long to flush before they are cut.
  std::chrono::milliseconds shutdown_grace{2000};

  /// Serve a small demo page at GET / (subscribe with EventSource or
  /// WebSocket, publish, watch events and reconnections).
  bool demo = false;

  /// Per-connection detail in the log.
  bool debug = false;
  /// text: "PEER \"REQUEST\" STATUS ..."; json: {"time","level","message"} a line.
  LogFormat log_format = LogFormat::text;
  /// One line per request and per ended stream.
  bool access_log = true;
  /// Receives each log line (no line end). Called from several threads, one
  /// line at a time, on the thread that logs (the loop's too: never block in
  /// it). Empty: lines go to stderr through a buffer written by a thread of
  /// its own, so a stuck stderr never holds the server (lines are dropped
  /// and counted instead).
  std::function<void(std::string_view line)> log;
};

}  // namespace es
