// SPDX-License-Identifier: GPL-3.0-or-later
// eventsource-server: token-keyed server-sent events over HTTP, the server of
// event-source-library, on es::Server. Options are documented in
// man/eventsource-server.1, which must match --help.

// GCC 12 reports a "potential null pointer dereference" inside CLI11's
// inlined std::vector<std::string> growth (CLI::detail::split): a false
// positive in a system header that -Werror would turn into a failed build.
#pragma GCC diagnostic ignored "-Wnull-dereference"

#include <es/event_kind.hpp>
#include <es/server.hpp>

#include <CLI/CLI.hpp>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <pthread.h>
#include <sys/resource.h>

namespace {

constexpr const char* endpoints_help = R"(Endpoints:
  GET  /poll/TOKEN          open the event stream of TOKEN (text/event-stream);
                            Last-Event-ID (or ?lastEventId=ID) replays what was missed;
                            with Upgrade: websocket, a WebSocket: one JSON text frame
                            an event, {"data", "event", "id", "retry"}
  POST /ACTION/TOKEN        send the request body as event ACTION to TOKEN's streams;
                            ping: an event named ping; close: a last event, then the
                            streams end; retry: the body (milliseconds) as retry:
  GET  /stats               counters as JSON                 \  from --admin-allow
  GET  /metrics             Prometheus metrics                |  addresses only
  GET  /health              200 ok, or 503 and the reason    /   (default loopback)
  OPTIONS *                 CORS preflight
  GET  /                    the demo page, with --demo

Every option may also be set in the --config file (TOML or INI: port = 8888).
SIGINT or SIGTERM: streams end cleanly, then exit 0. SIGHUP: reload the TLS key and
certificate (a pair that does not load is logged and the old one kept).)";

// The hard limit is what an administrator allowed; the soft default (often
// 1024) would cap subscribers for no reason. Returns the soft limit now in
// force (0 if unknown).
rlim_t raise_descriptor_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
  if (rl.rlim_cur < rl.rlim_max) {
    rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max;
    // An unlimited hard limit is refused (the kernel caps at fs.nr_open):
    // then the soft limit stays as it was.
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
  }
  return rl.rlim_cur;
}

es::EventKind choose_kind(bool json, bool ids) {
  if (json) return ids ? es::EventKind::json_id_events() : es::EventKind::json_events();
  return ids ? es::EventKind::string_id_events() : es::EventKind::string_events();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Serve server-sent events keyed by token: subscribers GET /poll/TOKEN,\n"
               "publishers POST /ACTION/TOKEN (the protocol of event-source-library).",
               "eventsource-server"};
  app.footer(endpoints_help);
  app.set_version_flag("--version", std::string("eventsource-server ") + ES_VERSION);
  app.set_config("--config", "", "Read options from FILE (TOML or INI; keys are the long option names)");
  app.get_config_ptr()->type_name("FILE");
  // A misspelt key in the file must not be ignored in silence.
  app.allow_config_extras(CLI::config_extras_mode::error);
  app.get_formatter()->column_width(34);

  es::ServerOptions options;
  bool json = false;
  bool ids = false;
  bool any_action = false;
  std::vector<std::string> allowed_actions;
  std::int64_t keepalive_ms = options.keepalive.count();
  std::int64_t history_age_s = options.history_age.count();
  std::int64_t request_timeout_s = std::chrono::duration_cast<std::chrono::seconds>(options.request_timeout).count();
  // CLI11 wraps "-1" into a huge unsigned value; refuse a sign outright.
  const CLI::Validator non_negative(
      [](std::string& value) { return value.find('-') == std::string::npos ? std::string() : "must not be negative"; },
      "");
  std::uint16_t port = options.port;

  app.add_option("-H,--host", options.host, "Address to bind (IPv4 or IPv6)")
      ->capture_default_str()
      ->type_name("HOST");
  app.add_option("-P,--port", port, "Port to listen on; 0 picks a free one (see the log)")
      ->capture_default_str()
      ->check(non_negative)
      ->type_name("PORT");
  app.add_option("--publish-key", options.publish_key,
                 "POSTs need a JWT signed with KEY allowing the token (an HMAC secret, or @FILE: a PEM public key)")
      ->type_name("KEY");
  app.add_option("--subscribe-key", options.subscribe_key,
                 "Subscriptions need a JWT signed with KEY allowing the token (as --publish-key)")
      ->type_name("KEY");
  app.add_option("-K,--keyfile", options.tls_key_file, "HTTPS: the PEM private key (with --certfile)")
      ->type_name("FILE");
  app.add_option("-C,--certfile", options.tls_cert_file,
                 "HTTPS: the PEM certificate, its chain after it (with --keyfile); SIGHUP reloads both")
      ->type_name("FILE");
  app.add_flag("-d,--debug", options.debug, "Log per-connection detail");
  app.add_flag("--demo", options.demo, "Serve a demo page at GET / (EventSource and WebSocket, publish, reconnect)");
  std::string log_format = "text";
  app.add_option("--log-format", log_format, "Log lines as text, or as json (one object a line)")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "json"}))
      ->type_name("FORMAT");
  std::string access_log = "on";
  app.add_option("--access-log", access_log, "One log line per request and ended stream: on or off")
      ->capture_default_str()
      ->check(CLI::IsMember({"on", "off"}))
      ->type_name("on|off");
  app.add_flag("-j,--json", json, "Event data must be JSON; sent as written, on one line");
  app.add_flag("-i,--id", ids, "Give every event an id and keep a history for Last-Event-ID");
  app.add_option("-k,--keepalive", keepalive_ms, "Send the comment ': keepalive <unix time>' every MS ms; 0 = off")
      ->capture_default_str()
      ->check(non_negative)
      ->type_name("MS");
  app.add_flag("--exclusive", options.exclusive, "One subscriber per token; a second one gets 423 Locked");
  app.add_option("--listen-action", options.listen_action, "Action that opens a stream: GET /NAME/TOKEN")
      ->capture_default_str()
      ->type_name("NAME");
  app.add_option("-a,--allow-action", allowed_actions,
                 "Also allow POST /NAME/TOKEN (repeatable; ping, close and retry always are)")
      ->type_name("NAME")
      ->take_first()
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_flag("--any-action", any_action, "Allow every action");
  app.add_option("--history", options.history_events, "Events kept per token for replay (with -i); 0 = none")
      ->capture_default_str()
      ->check(non_negative)
      ->type_name("N");
  app.add_option("--history-age", history_age_s, "Drop kept events older than SECONDS; 0 = no limit")
      ->capture_default_str()
      ->check(non_negative)
      ->type_name("SECONDS");
  app.add_option("--history-memory", options.history_memory,
                 "Bytes kept for replay and --latest across all tokens; the oldest go first; 0 = no bound")
      ->capture_default_str()
      ->check(non_negative)
      ->type_name("BYTES");
  app.add_option("--redis", options.redis_url,
                 "Keep events in Redis, shared by every server on it: redis://[:PASSWORD@]HOST[:PORT][/DB] or "
                 "unix:///PATH[?db=N] (docs/redis.md)")
      ->type_name("URL");
  app.add_option("--redis-prefix", options.redis_prefix, "Redis key and channel prefix: token T is PREFIX+T")
      ->capture_default_str()
      ->type_name("PREFIX");
  app.add_flag("--latest", options.latest,
               "A new subscriber without Last-Event-ID first gets the token's latest event");
  app.add_option("--max-body", options.max_body, "Largest POST body; larger ones get 413")
      ->capture_default_str()
      ->check(non_negative)
      ->type_name("BYTES");
  app.add_option("--max-subscribers", options.max_subscribers,
                 "Most subscribers at once, then 503; 0 = as many as descriptors allow")
      ->capture_default_str()
      ->check(non_negative)
      ->type_name("N");
  app.add_option("--max-queue", options.max_queue,
                 "Unsent bytes a subscriber may lag behind before it is disconnected")
      ->capture_default_str()
      ->check(non_negative)
      ->type_name("BYTES");
  app.add_option("--cors-origin", options.cors_origins,
                 "Let browser pages from ORIGIN read responses (repeatable; * = any)")
      ->type_name("ORIGIN")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  std::vector<std::string> admin_allow;
  app.add_option("--admin-allow", admin_allow,
                 "Addresses (CIDR) that may read /stats, /metrics and /health (repeatable; default loopback)")
      ->type_name("CIDR")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  options.threads = 0; // one event loop per core unless told
  app.add_option("--threads", options.threads,
                 "Event loops, each a thread serving its own connections; 0 = one per core (at most 64)")
      ->default_str("0")
      ->check(CLI::Range(0u, 64u).description(""))
      ->type_name("N");
  std::string accept = "spread";
  app.add_option("--accept", accept,
                 "With several loops: spread (the first accepts and hands subscriptions out in turn) or "
                 "reuseport (every loop listens)")
      ->capture_default_str()
      ->check(CLI::IsMember({"spread", "reuseport"}))
      ->type_name("MODE");
  app.add_option("--workers", options.workers,
                 "Threads for the demo page, 404s and chunked POSTs (cpp-httplib; 1-1024)")
      ->capture_default_str()
      ->check(non_negative)
      ->check(CLI::Range(1u, 1024u).description(""))
      ->type_name("N");
  app.add_option("--request-timeout", request_timeout_s,
                 "A request (head and body) must arrive within SECONDS, else 408 (1-3600)")
      ->capture_default_str()
      ->check(non_negative)
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{3600}).description(""))
      ->type_name("SECONDS");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; a usage error exits 2.
    return app.exit(e) == 0 ? 0 : 2;
  }

  options.port = port;
  options.accept = accept == "reuseport" ? es::AcceptMode::reuseport : es::AcceptMode::spread;
  if (!admin_allow.empty()) options.admin_allow = admin_allow;
  options.log_format = log_format == "json" ? es::LogFormat::json : es::LogFormat::text;
  options.access_log = access_log == "on";
  options.keepalive = std::chrono::milliseconds(keepalive_ms);
  options.history_age = std::chrono::seconds(history_age_s);
  options.request_timeout = std::chrono::seconds(request_timeout_s);
  options.kind = choose_kind(json, ids);
  if (any_action)
    options.kind.actions.clear(); // an empty set allows every action
  else
    options.kind.actions.insert(allowed_actions.begin(), allowed_actions.end());

  // The server logs what it then has ("descriptors: N (about M streams)").
  raise_descriptor_limit();

  // SIGINT and SIGTERM are taken by one thread with sigwait(); blocked before
  // any other thread starts so that every thread inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  try {
    es::Server server(options);
    try {
      server.bind();
    } catch (const std::system_error& e) {
      std::fprintf(stderr, "eventsource-server: %s (is another server running? choose one with -P)\n", e.what());
      return 1;
    }
    std::atomic<bool> serving{true};
    std::thread signal_waiter([&] {
      for (;;) {
        int sig = 0;
        sigwait(&stop_signals, &sig);
        if (!serving.load()) return;
        if (sig == SIGHUP) {
          server.reload_certificates(); // logs what happened; without TLS, nothing to do
          continue;
        }
        // Logged by the server ("stopping: N streams to end"); nothing is
        // written here: a stuck stderr must not keep the server from stopping.
        server.stop();
        return;
      }
    });
    const auto end_signal_waiter = [&] {
      serving = false;
      pthread_kill(signal_waiter.native_handle(), SIGTERM); // ends sigwait() if no signal came
      signal_waiter.join();
    };
    try {
      server.run();
    } catch (const std::exception& e) { // a failure while serving (logged), never a usage error
      end_signal_waiter(); // a joinable thread left behind would abort the process
      std::fprintf(stderr, "eventsource-server: %s\n", e.what());
      return 1;
    } catch (...) {
      end_signal_waiter();
      throw;
    }
    end_signal_waiter();
  } catch (const std::invalid_argument& e) {
    // Options the server refuses (a bad --admin-allow range): a usage error.
    std::string message = e.what();
    if (message.rfind("es::Server: ", 0) == 0) message.erase(0, 12);
    if (message.rfind("admin_allow: ", 0) == 0) message.replace(0, 11, "--admin-allow");
    if (message.rfind("publish_key: ", 0) == 0) message.replace(0, 11, "--publish-key");
    if (message.rfind("subscribe_key: ", 0) == 0) message.replace(0, 13, "--subscribe-key");
    if (message == "TLS needs both a key file and a certificate file") message = "HTTPS needs both --keyfile and --certfile";
    std::fprintf(stderr, "eventsource-server: %s\n", message.c_str());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "eventsource-server: %s\n", e.what());
    return 1;
  }
  return 0;
}
