// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// An http or https URL as the client and the publisher use it (RFC 3986,
// reduced to what an HTTP request needs): where to connect and what to ask for.

#include <es/export.hpp>
#include <es/result.hpp>

#include <string>
#include <string_view>

namespace es {

struct ES_API Url {
  /// "http" or "https" (lower case).
  std::string scheme;
  /// A name or an address; an IPv6 address without its brackets.
  std::string host;
  /// The explicit port, or 80 / 443 by scheme.
  int port = 0;
  /// Path and query ("/poll/token?x=1"); always starts with '/'. The fragment
  /// is dropped (RFC 9110: it is never sent).
  std::string target;
  /// From "user:password@" before the host, percent-decoded; empty without.
  std::string username;
  std::string password;

  bool is_tls() const noexcept { return scheme == "https"; }
  /// "HOST:PORT" ("[::1]:8888" for IPv6): how messages name the server.
  std::string authority() const;
  /// "scheme://HOST:PORT".
  std::string origin() const;
  /// origin() + target (credentials are never included).
  std::string str() const;
};

/// Parses an absolute http(s) URL. A space, a control character or a byte
/// above 0x7F in the path or query is percent-encoded, everything else is
/// kept as written. Fails with a message naming the problem ("URL has no
/// host", "unsupported scheme 'ftp' (use http or https)", ...).
ES_API Result<Url> parse_url(std::string_view text);

/// The URL a reference found at `base` points to (RFC 3986, 5.2, for the
/// forms a Location header takes): absolute ("https://h/x"), scheme-relative
/// ("//h/x"), absolute-path ("/x", "?q") or relative-path ("x"). Credentials
/// are kept only when the reference stays on base's origin.
ES_API Result<Url> resolve_url(const Url& base, std::string_view reference);

/// Percent-encodes every byte of `segment` except the unreserved characters
/// of RFC 3986 (ALPHA, DIGIT, '-', '.', '_', '~'), so any token becomes one
/// path segment ("a/b c" -> "a%2Fb%20c").
ES_API std::string encode_path_segment(std::string_view segment);

/// "/prefix/action/token" with the token encoded as one segment; `prefix` may
/// be empty or hold several segments, with or without slashes around it
/// ("x", "/x/", "a/b"). The prefix and action are used as written.
ES_API std::string action_path(std::string_view prefix, std::string_view action, std::string_view token);

}  // namespace es
