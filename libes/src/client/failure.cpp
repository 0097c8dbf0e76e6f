// SPDX-License-Identifier: GPL-3.0-or-later
#include "client/failure.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace es {

bool is_fatal(FailureKind kind) noexcept {
  switch (kind) {
    case FailureKind::http_status:
    case FailureKind::no_content:
    case FailureKind::content_type:
    case FailureKind::redirects:
      return true;
    default:
      return false;
  }
}

std::string_view name_of(FailureKind kind) noexcept {
  switch (kind) {
    case FailureKind::name_lookup: return "name_lookup";
    case FailureKind::refused: return "refused";
    case FailureKind::unreachable: return "unreachable";
    case FailureKind::connect_timeout: return "connect_timeout";
    case FailureKind::connect_failed: return "connect_failed";
    case FailureKind::tls: return "tls";
    case FailureKind::no_response: return "no_response";
    case FailureKind::timed_out: return "timed_out";
    case FailureKind::lost: return "lost";
    case FailureKind::too_large: return "too_large";
    case FailureKind::http_status: return "http_status";
    case FailureKind::no_content: return "no_content";
    case FailureKind::content_type: return "content_type";
    case FailureKind::redirects: return "redirects";
  }
  return "unknown";
}

namespace client_detail {
namespace {

struct ProbeResult {
  FailureKind kind = FailureKind::connect_failed;
  std::string detail;
};

struct AddrinfoDeleter {
  void operator()(addrinfo* list) const noexcept { freeaddrinfo(list); }
};

// One non-blocking connect; returns 0 on success, else the errno (ETIMEDOUT
// when the deadline passed).
int probe_one(const addrinfo& address, std::chrono::milliseconds timeout, SocketRegistry& sockets) {
  const int fd = ::socket(address.ai_family, address.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, address.ai_protocol);
  if (fd < 0) return errno;
  sockets.adopt(fd);
  int result = 0;
  if (::connect(fd, address.ai_addr, address.ai_addrlen) != 0) {
    result = errno;
    if (result == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      int ready = 0;
      do {
        ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
      } while (ready < 0 && errno == EINTR);
      if (ready == 0) {
        result = ETIMEDOUT;
      } else {
        socklen_t size = sizeof result;
        if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &result, &size) != 0) result = errno;
      }
    }
  }
  ::close(fd);
  return result;
}

ProbeResult classify(int error) {
  switch (error) {
    case ECONNREFUSED:
      return {FailureKind::refused, "connection refused"};
    case ENETUNREACH:
      return {FailureKind::unreachable, "network unreachable"};
    case EHOSTUNREACH:
      return {FailureKind::unreachable, "no route to host"};
    case ETIMEDOUT:
      return {FailureKind::connect_timeout, "connection timed out"};
    default:
      return {FailureKind::connect_failed, std::strerror(error)};
  }
}

// Why a connection to `url` fails, asked again of the kernel: refused beats
// unreachable beats the rest, since any address refusing means a host that is
// up without a server.
int resolve(const Url& url, addrinfo** found) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  const std::string port = std::to_string(url.port);
  return ::getaddrinfo(url.host.c_str(), port.c_str(), &hints, found);
}

std::string lookup_failure(int rc) { return std::string("cannot resolve the host name (") + gai_strerror(rc) + ")"; }

ProbeResult probe(const Url& url, std::chrono::milliseconds timeout, SocketRegistry& sockets) {
  addrinfo* found = nullptr;
  if (const int rc = resolve(url, &found); rc != 0) return {FailureKind::name_lookup, lookup_failure(rc)};
  const std::unique_ptr<addrinfo, AddrinfoDeleter> list(found);
  std::optional<ProbeResult> best;
  const auto rank = [](FailureKind k) {
    return k == FailureKind::refused ? 0 : k == FailureKind::unreachable ? 1 : 2;
  };
  for (const addrinfo* a = list.get(); a != nullptr; a = a->ai_next) {
    if (sockets.stopping()) break;
    const int error = probe_one(*a, timeout, sockets);
    if (error == 0)
      return {FailureKind::connect_failed, "the connection failed (it works now: the server may have just started)"};
    ProbeResult r = classify(error);
    if (!best || rank(r.kind) < rank(best->kind)) best = std::move(r);
  }
  return best.value_or(ProbeResult{FailureKind::connect_failed, "the connection failed"});
}

ClientError make(FailureKind kind, std::string message) {
  ClientError e;
  e.kind = kind;
  e.message = std::move(message);
  return e;
}

}  // namespace

std::string describe_duration(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + " s";
  return std::to_string(d.count()) + " ms";
}

ClientError transport_failure(const Url& url, httplib::Error error, const TransportFacts& facts,
                              SocketRegistry& sockets) {
  const std::string reach = "cannot reach " + url.authority() + ": ";
  switch (error) {
    case httplib::Error::Connection: {
      if (facts.sockets == 0) {
        // No socket was made: the name did not resolve (or socket() failed).
        addrinfo* list = nullptr;
        const int rc = resolve(url, &list);
        if (list != nullptr) freeaddrinfo(list);
        if (rc != 0) return make(FailureKind::name_lookup, reach + lookup_failure(rc));
        return make(FailureKind::connect_failed, reach + "cannot create a socket");
      }
      const auto timeout = std::clamp(facts.connect_timeout, std::chrono::milliseconds(100),
                                      std::chrono::milliseconds(2000));
      const ProbeResult r = probe(url, timeout, sockets);
      return make(r.kind, reach + r.detail);
    }
    case httplib::Error::ConnectionTimeout:
      return make(FailureKind::connect_timeout,
                  reach + "connection timed out (after " + describe_duration(facts.connect_timeout) + ")");
    case httplib::Error::SSLConnection:
      return make(FailureKind::tls, reach + "TLS handshake failed (is it an https server?)");
    case httplib::Error::SSLServerVerification:
      return make(FailureKind::tls, reach +
                                        "the server's TLS certificate was not accepted "
                                        "(unknown authority, wrong name or expired)");
    case httplib::Error::SSLLoadingCerts:
      return make(FailureKind::tls, reach + "cannot load the TLS certificate authorities");
    case httplib::Error::Read:
      if (facts.read_timeout.count() > 0 && facts.elapsed >= facts.read_timeout)
        return make(FailureKind::timed_out,
                    url.authority() + " did not answer within " + describe_duration(facts.read_timeout));
      return make(FailureKind::no_response, url.authority() + " closed the connection without answering");
    case httplib::Error::Write:
      return make(FailureKind::no_response, url.authority() + " closed the connection before the request was sent");
    case httplib::Error::ExceedRedirectCount:
      return make(FailureKind::redirects, "too many redirects from " + url.authority());
    case httplib::Error::Success:
      return make(FailureKind::no_response, url.authority() + " sent no usable answer");
    default:
      return make(FailureKind::connect_failed, "request to " + url.authority() + " failed (" +
                                                   httplib::to_string(error) + ")");
  }
}

std::string media_type(const std::string& content_type) {
  std::string type = content_type.substr(0, content_type.find(';'));
  const auto not_space = [](unsigned char c) { return std::isspace(c) == 0; };
  type.erase(type.begin(), std::find_if(type.begin(), type.end(), not_space));
  type.erase(std::find_if(type.rbegin(), type.rend(), not_space).base(), type.end());
  std::transform(type.begin(), type.end(), type.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return type;
}

std::string reason_from_body(const std::string& content_type, const std::string& body) {
  const std::string type = media_type(content_type);
  if (!type.empty() && type.rfind("text/plain", 0) != 0 && type != "application/json") return "";
  std::string line = body.substr(0, body.find_first_of("\r\n"));
  constexpr std::size_t kLongest = 200;
  if (line.size() > kLongest) line = line.substr(0, kLongest) + "...";
  const auto not_space = [](unsigned char c) { return std::isspace(c) == 0; };
  line.erase(line.begin(), std::find_if(line.begin(), line.end(), not_space));
  line.erase(std::find_if(line.rbegin(), line.rend(), not_space).base(), line.end());
  // Control bytes are not shown to people.
  std::replace_if(line.begin(), line.end(), [](unsigned char c) { return c < 0x20 || c == 0x7F; }, '?');
  return line;
}

}  // namespace client_detail
}  // namespace es
