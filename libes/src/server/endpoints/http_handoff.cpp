// SPDX-License-Identifier: GPL-3.0-or-later
#include "server/endpoints/http_handoff.hpp"

namespace es {
namespace {

thread_local HandoffStream* serving = nullptr;

}  // namespace

HttpHandoff::HttpHandoff() {
  // Only the advertised Keep-Alive header reads these: the loop keeps idle
  // connections itself and never limits the requests per connection
  // (cpp-httplib's default of 5 would be a lie here).
  set_keep_alive_max_count(1000000);
}

HandoffStream* HttpHandoff::current_stream() noexcept { return serving; }

bool HttpHandoff::serve_one(HandoffStream& stream) {
  serving = &stream;
  bool connection_closed = false;
  const bool ok = process_request(stream, /*close_connection=*/false, connection_closed, [](httplib::Request& req) {
    // Responses here are a few bytes of JSON or text: compressing them costs
    // more than it saves.
    req.headers.erase("Accept-Encoding");
  });
  serving = nullptr;
  const bool flushed = stream.flush();
  return ok && flushed && !connection_closed;
}

}  // namespace es
