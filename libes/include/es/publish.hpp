// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// Publishing to an eventsource-server: `POST /ACTION/TOKEN` with the data as
// the body (what eventsource-request does).

#include <es/export.hpp>
#include <es/client.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace es {

struct PublishOptions {
  /// The server, and any path prefix it sits behind: "http://127.0.0.1:8888",
  /// "https://example.org/events". The request goes to BASE/ACTION/TOKEN.
  std::string base_url = "http://127.0.0.1:8888";
  /// The body's Content-Type.
  std::string content_type = "text/plain; charset=utf-8";
  std::vector<Header> headers;
  /// Basic auth when non-empty (else credentials in base_url, if any).
  std::string username;
  std::string password;
  /// Bounds connecting, sending and waiting for the answer, each.
  std::chrono::milliseconds timeout{10000};
  bool verify_tls = true;
  /// A PEM file of certificate authorities; empty: the system's.
  std::string ca_file;
};

/// The server's answer, whatever its status.
struct PublishReply {
  int status = 0;
  /// The status line's reason phrase ("Not Found").
  std::string reason;
  std::string content_type;
  std::string body;

  bool ok() const noexcept { return status >= 200 && status < 300; }
};

struct PublishOutcome {
  /// Set when the server answered.
  std::optional<PublishReply> reply;
  /// Set when it did not: it could not connect (refused, name lookup, TLS,
  /// connect_timeout), or no answer came in time (timed_out) or at all
  /// (no_response).
  std::optional<ClientError> error;

  explicit operator bool() const noexcept { return reply.has_value(); }
};

/// POSTs `data` to BASE/ACTION/TOKEN (the token encoded as one path segment).
/// Throws std::invalid_argument for a bad base_url.
ES_API PublishOutcome publish(const PublishOptions& options, std::string_view token, std::string_view action,
                       std::string_view data);

}  // namespace es
