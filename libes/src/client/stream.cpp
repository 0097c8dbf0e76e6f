// SPDX-License-Identifier: GPL-3.0-or-later
#include "client/stream.hpp"

#include "client/http_client.hpp"

#include "client/failure.hpp"

#include <httplib.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>

namespace es::client_detail {
namespace {

using std::chrono::milliseconds;

// Reading waits this long when no idle timeout is set; a stop shuts the
// socket down, so the wait never holds a stop up.
constexpr auto kForever = std::chrono::hours(24);
// Enough of an error body for its first line (the server's reason).
constexpr std::size_t kErrorBodyLimit = 1024;

bool same_name(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](unsigned char x, unsigned char y) {
    return std::tolower(x) == std::tolower(y);
  });
}

// The headers of the request: the client's own first; extra ones may add,
// not replace (a second Accept or Last-Event-ID would confuse servers).
httplib::Headers request_headers(const ClientOptions& options, const std::string& last_event_id) {
  httplib::Headers headers{
      {"Accept", "text/event-stream"},
      // WHATWG: the request's cache mode is "no-store"; proxies need telling too.
      {"Cache-Control", "no-cache"},
      // A compressed stream is buffered by the compressor and by proxies.
      {"Accept-Encoding", "identity"},
  };
  if (!last_event_id.empty()) headers.emplace("Last-Event-ID", last_event_id);
  static constexpr std::array<std::string_view, 4> own{"Accept", "Cache-Control", "Accept-Encoding",
                                                       "Last-Event-ID"};
  for (const auto& h : options.headers) {
    const bool ours = std::any_of(own.begin(), own.end(), [&](std::string_view o) { return same_name(o, h.name); });
    if (!ours) headers.emplace(h.name, h.value);
  }
  return headers;
}

struct Answer {
  int status = 0;
  std::string reason;
  std::string content_type;
  std::string body;  // the start of an error body
};

ClientError refusal(const Url& url, const Answer& answer) {
  ClientError e;
  e.status = answer.status;
  const std::string server = url.authority();
  const std::string status_line =
      std::to_string(answer.status) + (answer.reason.empty() ? "" : " " + answer.reason);
  if (answer.status == 204) {
    // WHATWG: 204 is how a server tells an EventSource to stop reconnecting.
    e.kind = FailureKind::no_content;
    e.message = server + " answered " + status_line + ": the server asks the client not to reconnect";
  } else if (answer.status == 200) {
    e.kind = FailureKind::content_type;
    e.message = server + " answered with Content-Type " +
                (answer.content_type.empty() ? std::string("(none)") : answer.content_type) +
                ", not text/event-stream";
  } else {
    e.kind = FailureKind::http_status;
    e.reason = reason_from_body(answer.content_type, answer.body);
    e.message = server + " answered " + status_line + (e.reason.empty() ? "" : ": " + e.reason);
  }
  return e;
}

// WHATWG fetch follows at most 20 redirects.
constexpr int kMostRedirects = 20;

bool is_redirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

void configure(httplib::Client& http, const Url& current, const Url& first, const ClientOptions& options,
               milliseconds read_timeout, SocketRegistry& sockets) {
  HttpClientSettings settings;
  settings.connect_timeout = options.connect_timeout;
  settings.write_timeout = options.connect_timeout;
  settings.read_timeout = read_timeout.count() > 0 ? read_timeout : kForever;
  // The options' credentials are for the first URL's origin only (as a
  // browser drops Authorization on a cross-origin redirect).
  const bool from_options = current.origin() == first.origin() && !options.username.empty();
  settings.username = from_options ? options.username : current.username;
  settings.password = from_options ? options.password : current.password;
  settings.verify_tls = options.verify_tls;
  settings.ca_file = options.ca_file;
  configure_client(http, settings, sockets);
}

}  // namespace

StreamOutcome stream_once(const Url& url, const ClientOptions& options, const std::string& last_event_id,
                          SocketRegistry& sockets, const StreamHooks& hooks) {
  StreamOutcome outcome;
  const milliseconds read_timeout = options.idle_timeout.count() > 0 ? options.idle_timeout : milliseconds(0);
  const httplib::Headers headers = request_headers(options, last_event_id);
  Url current = url;
  // Redirects are followed here, one fresh connection per hop: httplib's own
  // following may send the next request on the socket the server is closing.
  for (int redirects = 0;; ++redirects) {
    httplib::Client http(current.origin());
    configure(http, current, url, options, read_timeout, sockets);

    Answer answer;
    std::string location;
    const auto on_response = [&](const httplib::Response& response) {
      answer.status = response.status;
      answer.reason = response.reason;
      answer.content_type = response.get_header_value("Content-Type");
      if (sockets.stopping()) return false;
      if (is_redirect(response.status) && response.has_header("Location")) {
        location = response.get_header_value("Location");
        return false;  // its body is of no use
      }
      // WHATWG: only 200 with the text/event-stream type opens the stream.
      if (response.status == 200 && media_type(answer.content_type) == "text/event-stream") {
        outcome.opened = true;
        if (hooks.on_open) hooks.on_open();
        return !sockets.stopping();
      }
      // An error body is read for its reason; a 200 of another type is not.
      return response.status != 200;
    };
    const auto on_body = [&](const char* data, std::size_t size) {
      if (outcome.opened) {
        if (!hooks.on_bytes(std::string_view(data, size))) {
          outcome.dropped = true;
          return false;
        }
        return true;
      }
      answer.body.append(data, std::min(size, kErrorBodyLimit - answer.body.size()));
      return answer.body.size() < kErrorBodyLimit && answer.body.find('\n') == std::string::npos;
    };

    const std::size_t sockets_before = sockets.adopted();
    const auto started = std::chrono::steady_clock::now();
    const httplib::Result result = http.Get(current.target, headers, on_response, on_body);
    const auto elapsed = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - started);

    if (outcome.opened) {
      if (outcome.dropped || sockets.stopping() || result.error() == httplib::Error::Success) return outcome;
      ClientError e;
      e.kind = FailureKind::lost;
      if (read_timeout.count() > 0 && result.error() == httplib::Error::Read && elapsed >= read_timeout)
        e.message = "the stream from " + current.authority() + " was silent for " + describe_duration(read_timeout) +
                    "; dropped it";
      else
        e.message = "lost the connection to " + current.authority() + " in the middle of the stream";
      outcome.error = std::move(e);
      return outcome;
    }
    if (sockets.stopping()) return outcome;
    if (!location.empty()) {
      Result<Url> next = resolve_url(current, location);
      if (!next || redirects == kMostRedirects) {
        ClientError e;
        e.kind = FailureKind::redirects;
        e.status = answer.status;
        e.message = !next ? current.authority() + " redirected to a bad location: " + next.error()
                          : "too many redirects (over " + std::to_string(kMostRedirects) + ") from " +
                                url.authority();
        outcome.error = std::move(e);
        return outcome;
      }
      current = std::move(next).value();
      if (hooks.on_redirect) hooks.on_redirect(current.str());
      continue;
    }
    if (result) {
      answer.status = result->status;
      if (answer.reason.empty()) answer.reason = result->reason;
      if (answer.content_type.empty()) answer.content_type = result->get_header_value("Content-Type");
    }
    if (answer.status != 0) {
      outcome.error = refusal(current, answer);
      return outcome;
    }
    TransportFacts facts;
    facts.sockets = sockets.adopted() - sockets_before;
    facts.elapsed = elapsed;
    facts.connect_timeout = options.connect_timeout;
    facts.read_timeout = read_timeout;
    outcome.error = transport_failure(current, result.error(), facts, sockets);
    return outcome;
  }
}

}  // namespace es::client_detail
