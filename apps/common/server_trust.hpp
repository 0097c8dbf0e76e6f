// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// What eventsource-client and eventsource-request share about reaching a
// server that wants TLS or a JWT: the --insecure, --jwt and --cacert
// options, how they shape the request, and the hint an untrusted
// certificate gets.

#include <es/client.hpp>
#include <es/header.hpp>

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace es::apps {

struct ServerTrust {
  bool insecure = false;
  std::string jwt;
  std::string cacert;

  void add_options(CLI::App& app) {
    app.add_flag("--insecure", insecure, "Do not check the server's TLS certificate");
    app.add_option("--jwt", jwt, "Send Authorization: Bearer JWT (a server with --publish-key/--subscribe-key)")
        ->type_name("JWT");
    app.add_option("--cacert", cacert, "Trust the certificate authorities in FILE (PEM) for https")
        ->type_name("FILE")
        ->check(CLI::ExistingFile);
  }

  void apply(bool& verify_tls, std::string& ca_file, std::vector<Header>& headers) const {
    verify_tls = !insecure;
    ca_file = cacert;
    if (!jwt.empty()) headers.push_back({"Authorization", "Bearer " + jwt});
  }
};

/// What to add to the message of a certificate that was not accepted.
inline std::string trust_hint(const ClientError& e) {
  if (e.kind == FailureKind::tls && e.message.find("not accepted") != std::string::npos)
    return "; trust its authority with --cacert FILE (or, for testing only, --insecure)";
  return {};
}

}  // namespace es::apps
