// SPDX-License-Identifier: GPL-3.0-or-later
#include <es/publish.hpp>

#include "client/failure.hpp"
#include "client/http_client.hpp"
#include "client/sockets.hpp"

#include <es/url.hpp>

#include <httplib.h>

#include <stdexcept>

namespace es {

PublishOutcome publish(const PublishOptions& options, std::string_view token, std::string_view action,
                       std::string_view data) {
  Result<Url> parsed = parse_url(options.base_url);
  if (!parsed) throw std::invalid_argument("es::publish: " + parsed.error());
  const Url& url = *parsed;
  // The base's path is a prefix; a query on it has no place in BASE/ACTION/TOKEN.
  const std::string prefix = url.target.substr(0, url.target.find('?'));
  const std::string path = action_path(prefix, action, token);

  client_detail::SigpipeBlock no_sigpipe;
  client_detail::SocketRegistry sockets;
  httplib::Client http(url.origin());
  client_detail::HttpClientSettings settings;
  settings.connect_timeout = settings.read_timeout = settings.write_timeout = options.timeout;
  settings.username = options.username.empty() ? url.username : options.username;
  settings.password = options.username.empty() ? url.password : options.password;
  settings.verify_tls = options.verify_tls;
  settings.ca_file = options.ca_file;
  client_detail::configure_client(http, settings, sockets);

  httplib::Headers headers;
  for (const auto& h : options.headers) headers.emplace(h.name, h.value);

  const auto started = std::chrono::steady_clock::now();
  const httplib::Result result = http.Post(path, headers, data.data(), data.size(), options.content_type);
  PublishOutcome outcome;
  if (result) {
    PublishReply reply;
    reply.status = result->status;
    reply.reason = result->reason;
    reply.content_type = result->get_header_value("Content-Type");
    reply.body = result->body;
    outcome.reply = std::move(reply);
    return outcome;
  }
  client_detail::TransportFacts facts;
  facts.sockets = sockets.adopted();
  facts.elapsed =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  facts.connect_timeout = options.timeout;
  facts.read_timeout = options.timeout;
  outcome.error = client_detail::transport_failure(url, result.error(), facts, sockets);
  return outcome;
}

}  // namespace es
