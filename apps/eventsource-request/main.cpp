// SPDX-License-Identifier: GPL-3.0-or-later
// eventsource-request: publish one event to an eventsource-server,
// POST /ACTION/TOKEN (token first, as event-source-library's command had it).
// Documented in man/eventsource-request.1, which must match --help.

// GCC 12 reports a "potential null pointer dereference" inside CLI11's
// inlined std::vector<std::string> growth: a false positive in a system
// header that -Werror would turn into a failed build.
#pragma GCC diagnostic ignored "-Wnull-dereference"

#include "server_trust.hpp"
#include "send.hpp"

#include <es/url.hpp>

#include <CLI/CLI.hpp>

#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

constexpr const char* footer = R"(DATA absent or "-": the data is read from standard input.
Prints the server's answer (e.g. {"id":"7","subscribers":1}) on standard output.

Exit status:
  0    the server accepted the event (2xx)
  1    the server answered with an error status (printed with its reason)
  2    usage error
  3    timeout: no connection, or no answer, within --timeout
  4    cannot reach the server: connection refused, unknown host, unreachable,
       TLS failure, or the connection closed without an answer
  5    bad data: -j and DATA is not JSON, or standard input cannot be read)";

void say(const std::string& text) { std::fprintf(stderr, "eventsource-request: %s\n", text.c_str()); }

}  // namespace

int main(int argc, char** argv) {
  namespace exit_code = es::apps::request_exit;
  CLI::App app{"Publish an event to an eventsource-server: POST DATA to /ACTION/TOKEN.", "eventsource-request"};
  app.footer(footer);
  app.set_version_flag("--version", std::string("eventsource-request ") + ES_VERSION);
  app.get_formatter()->column_width(30);

  es::apps::SendSettings settings;
  std::string data;
  std::string host = "127.0.0.1";
  std::uint16_t port = 8888;
  bool json = false;
  bool tls = false;
  std::string base_url;
  std::vector<std::string> headers;
  double timeout_s = 10;

  app.add_option("TOKEN", settings.token, "Token whose subscribers get the event")->required();
  app.add_option("ACTION", settings.action, "Action: ping, close, retry, or one the server allows")->required();
  auto* data_opt = app.add_option("DATA", data, "The event's data; absent or - reads standard input");
  auto* host_opt = app.add_option("-H,--host", host, "Server host")->type_name("HOST")->capture_default_str();
  auto* port_opt = app.add_option("-P,--port", port, "Server port")->type_name("PORT")->capture_default_str();
  app.add_flag("-j,--json", json, "Check that DATA is JSON (else exit 5) and send it as application/json");
  app.add_option("--url", base_url, "Server base URL instead of -H/-P/-S, e.g. a server behind a\n"
                                    "prefix: https://example.org/events (then BASE/ACTION/TOKEN)")
      ->type_name("BASE");
  auto* tls_opt = app.add_flag("-S,--tls", tls, "Connect with TLS (https)");
  app.add_option("--header", headers, "Extra request header (repeatable)")->type_name("'NAME: VALUE'");
  es::apps::ServerTrust trust;
  trust.add_options(app);
  app.add_option("--timeout", timeout_s, "Give up (exit 3) when connecting or the answer takes longer")
      ->type_name("SECONDS")
      ->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? exit_code::ok : exit_code::usage;
  }
  const auto usage_error = [](const std::string& text) {
    say(text + " (see --help)");
    return exit_code::usage;
  };
  if (!base_url.empty() && (*host_opt || *port_opt || *tls_opt)) return usage_error("--url replaces -H, -P and -S");
  if (port == 0) return usage_error("-P wants a port from 1 to 65535");
  if (!(timeout_s > 0)) return usage_error("--timeout wants a number of seconds above 0");
  if (settings.token.empty() || settings.action.empty()) return usage_error("TOKEN and ACTION must not be empty");

  if (base_url.empty()) {
    es::Url built;
    built.scheme = tls ? "https" : "http";
    built.host = host;
    built.port = port;
    built.target = "/";
    base_url = built.str();
  } else if (es::Result<es::Url> parsed = es::parse_url(base_url); !parsed) {
    return usage_error("--url: " + parsed.error());
  }
  settings.publish.base_url = base_url;
  for (const auto& h : headers) {
    const auto colon = h.find(':');
    if (colon == std::string::npos || colon == 0) return usage_error("--header wants 'NAME: VALUE', not '" + h + "'");
    std::string value = h.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    settings.publish.headers.push_back({h.substr(0, colon), value});
  }
  trust.apply(settings.publish.verify_tls, settings.publish.ca_file, settings.publish.headers);
  settings.publish.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(timeout_s * 1000.0 + 0.5));
  if (*data_opt && data != "-") settings.data = data;
  settings.json = json;
  return es::apps::send_event(settings, stdin, stdout, stderr);
}
