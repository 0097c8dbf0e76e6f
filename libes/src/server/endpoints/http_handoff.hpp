// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// cpp-httplib without its accept loop: the request/response endpoints run on
// connections the streaming loop hands over, one request at a time.
//
// httplib::Server::process_request() is protected and takes any Stream (it
// is what cpp-httplib's own keep-alive loop and its SSLServer call), so a
// subclass can run it on a HandoffStream. cpp-httplib's listen(),
// process_and_close_socket() (private) and its thread pool are never used:
// Debian's build listens with a backlog of 5, spins on EMFILE, and holds a
// thread per idle keep-alive connection. Keep-alive is the loop's business:
// after each request the connection goes back to it.

#include "server/endpoints/handoff_stream.hpp"

#include <httplib.h>

namespace es {

class HttpHandoff final : public httplib::Server {
 public:
  HttpHandoff();

  /// Serves the one request waiting on `stream` and sends the response.
  /// True when the connection may carry another request.
  bool serve_one(HandoffStream& stream);

  /// The stream the calling worker is serving (for handlers that need it),
  /// or nullptr outside serve_one().
  static HandoffStream* current_stream() noexcept;
};

}  // namespace es
