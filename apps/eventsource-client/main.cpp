// SPDX-License-Identifier: GPL-3.0-or-later
// eventsource-client: subscribe to an eventsource-server token (or any SSE
// URL) and print the events. The command line of event-source-library's
// client plus output modes; documented in man/eventsource-client.1, which
// must match --help.

// GCC 12 reports a "potential null pointer dereference" inside CLI11's
// inlined std::vector<std::string> growth: a false positive in a system
// header that -Werror would turn into a failed build.
#pragma GCC diagnostic ignored "-Wnull-dereference"

#include "server_trust.hpp"
#include "subscribe.hpp"

#include <es/event_kind.hpp>
#include <es/url.hpp>

#include <CLI/CLI.hpp>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

namespace {

constexpr const char* footer = R"(Output: one block per event for people (type, id=, retry=, then each data line
behind "| "); --json: one object per line {"event","data","id","retry"};
--data-only: the data alone. Failures go to standard error, each kind once until
a stream opens again (every attempt with -d).

Exit status:
  0    the server sent its close event, or --count events were received
  1    the server refused the stream: a status other than 200 (204 included) or a
       Content-Type other than text/event-stream (never with -k); or an internal error
  2    usage error
  3    --timeout passed first
  130  interrupted by SIGINT (143: SIGTERM)
  141  standard output was closed)";

void say(const std::string& text) { std::fprintf(stderr, "eventsource-client: %s\n", text.c_str()); }

}  // namespace

int main(int argc, char** argv) {
  namespace exit_code = es::apps::client_exit;
  CLI::App app{"Subscribe to server-sent events and print them: GET /ACTION/TOKEN of an\n"
               "eventsource-server, or any SSE endpoint with --url. Reconnects as browsers do.",
               "eventsource-client"};
  app.footer(footer);
  app.set_version_flag("--version", std::string("eventsource-client ") + ES_VERSION);
  app.get_formatter()->column_width(30);

  std::string token;
  std::string host = "127.0.0.1";
  std::uint16_t port = 8888;
  std::uint64_t retry_ms = 3000;
  bool debug = false;
  bool tls = false;
  bool keep_going = false;
  std::string action(es::default_listen_action);
  std::string prefix;
  std::string user;
  std::string password;
  std::string url;
  std::vector<std::string> headers;
  std::string last_event_id;
  bool json = false;
  bool data_only = false;
  std::uint64_t count = 0;
  double timeout_s = 0;

  auto* token_opt = app.add_option("TOKEN", token, "Token to subscribe to (not with --url)");
  auto* host_opt = app.add_option("-H,--host", host, "Server host")->type_name("HOST")->capture_default_str();
  auto* port_opt = app.add_option("-P,--port", port, "Server port")->type_name("PORT")->capture_default_str();
  app.add_option("-r,--retry", retry_ms, "Reconnection time in ms until the server sends retry:")
      ->type_name("MS")
      ->capture_default_str();
  app.add_flag("-d,--debug", debug, "Log every connection attempt, delay and comment on stderr");
  auto* tls_opt = app.add_flag("-S,--tls", tls, "Connect with TLS (https)");
  app.add_flag("-k,--keep-going", keep_going,
               "Keep reconnecting even after the server refused the stream (status, 204, type)");
  auto* action_opt = app.add_option("-a,--action", action, "Listen action: the path is /ACTION/TOKEN")
                         ->type_name("ACTION")
                         ->capture_default_str();
  auto* prefix_opt = app.add_option("-x,--prefix", prefix, "Path prefix before /ACTION/TOKEN (a server behind a proxy)")
                         ->type_name("PREFIX");
  app.add_option("-u,--user", user, "User name for basic auth")->type_name("USER");
  app.add_option("-p,--password", password, "Password for basic auth")->type_name("PASSWORD");
  app.add_option("--url", url, "Subscribe to URL (http or https, any SSE endpoint) instead of\n"
                               "/ACTION/TOKEN on HOST:PORT")
      ->type_name("URL");
  app.add_option("--header", headers, "Extra request header (repeatable)")->type_name("'NAME: VALUE'");
  app.add_option("--last-event-id", last_event_id, "Resume after this event id (sent as Last-Event-ID)")
      ->type_name("ID");
  es::apps::ServerTrust trust;
  trust.add_options(app);
  app.add_flag("--json", json, "Print one JSON object per event and line");
  app.add_flag("--data-only", data_only, "Print only the data of each event");
  app.add_option("-n,--count", count, "Exit (0) after N events")->type_name("N");
  app.add_option("--timeout", timeout_s, "Exit (3) after SECONDS unless done before (fractions allowed)")
      ->type_name("SECONDS");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? exit_code::ok : exit_code::usage;
  }
  // Checked here rather than with CLI11's excludes(), which would crowd --help.
  const auto usage_error = [](const std::string& text) {
    say(text + " (see --help)");
    return exit_code::usage;
  };
  const bool address_given = *token_opt || *host_opt || *port_opt || *action_opt || *prefix_opt || *tls_opt;
  if (!url.empty() && address_given) return usage_error("--url replaces TOKEN, -H, -P, -a, -x and -S");
  if (json && data_only) return usage_error("--json and --data-only exclude each other");
  if (!password.empty() && user.empty()) return usage_error("-p needs -u");
  if (port == 0) return usage_error("-P wants a port from 1 to 65535");
  if (*app.get_option("--count") && count == 0) return usage_error("-n wants a count above 0");
  if (*app.get_option("--timeout") && !(timeout_s > 0))
    return usage_error("--timeout wants a number of seconds above 0");
  if (token.empty() && url.empty()) return usage_error("give a TOKEN, or --url URL");

  es::apps::SubscribeSettings settings;
  if (url.empty()) {
    es::Url built;
    built.scheme = tls ? "https" : "http";
    built.host = host;
    built.port = port;
    built.target = es::action_path(prefix, action, token);
    settings.client.url = built.str();
    settings.hint_server = true;
  } else {
    settings.client.url = url;
  }
  for (const auto& h : headers) {
    const auto colon = h.find(':');
    if (colon == std::string::npos || colon == 0) {
      return usage_error("--header wants 'NAME: VALUE', not '" + h + "'");
    }
    std::string value = h.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    settings.client.headers.push_back({h.substr(0, colon), value});
  }
  settings.client.reconnect.initial = std::chrono::milliseconds(retry_ms);
  settings.client.username = user;
  settings.client.password = password;
  settings.client.last_event_id = last_event_id;
  settings.client.keep_going = keep_going;
  trust.apply(settings.client.verify_tls, settings.client.ca_file, settings.client.headers);
  settings.output = json ? es::apps::OutputMode::json
                         : data_only ? es::apps::OutputMode::data_only : es::apps::OutputMode::people;
  settings.count = count;
  if (timeout_s > 0)
    settings.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(timeout_s * 1000.0 + 0.5));
  settings.debug = debug;

  try {
    return es::apps::subscribe(settings);
  } catch (const std::exception& e) {
    say(std::string("internal error: ") + e.what());
    return exit_code::refused;
  }
}
