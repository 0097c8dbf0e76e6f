// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// Turning what cpp-httplib reports into a ClientError a person understands.
//
// httplib says only Error::Connection for a refused connection, an
// unreachable host and a name that does not resolve (errno is gone by
// then). The kind is recovered from facts the client keeps: whether a socket
// was ever created (none: the name did not resolve), and else a probe, a
// plain non-blocking connect to the same address that reports its errno.

#include "client/sockets.hpp"

#include <es/client.hpp>
#include <es/url.hpp>

#include <httplib.h>

#include <chrono>
#include <string>

namespace es::client_detail {

struct TransportFacts {
  /// Sockets httplib created for the request (SocketRegistry::adopted()).
  std::size_t sockets = 0;
  /// From the start of the request to its failure.
  std::chrono::milliseconds elapsed{0};
  std::chrono::milliseconds connect_timeout{0};
  /// httplib's read timeout, or 0 when reading waits (nearly) forever.
  std::chrono::milliseconds read_timeout{0};
};

/// A request that got no HTTP answer. The probe adopts its socket into
/// `sockets`, so a stop cuts it short too.
ClientError transport_failure(const Url& url, httplib::Error error, const TransportFacts& facts,
                              SocketRegistry& sockets);

/// "s" for a duration in whole seconds when it is one, else "N ms".
std::string describe_duration(std::chrono::milliseconds d);

/// The first line of a text body (the server's reason), trimmed and bounded;
/// "" for a body of another type.
std::string reason_from_body(const std::string& content_type, const std::string& body);

/// The media type of a Content-Type value, lower case, parameters dropped.
std::string media_type(const std::string& content_type);

}  // namespace es::client_detail
