// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// A scripted HTTP server for client tests: a raw TCP listener on port 0 with
// a thread per connection. Connection N runs script N (the last script again
// for any later one), so a test can send tricky streams byte by byte: CR-only
// line ends, a BOM, pieces split anywhere, a 204, a redirect, a close in the
// middle of an event. Every request head is recorded with the time it came,
// and every connection's end, so tests can check Last-Event-ID headers and
// reconnection delays.

#include "harness.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cctype>
#include <chrono>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace es::test {

struct RecordedRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;                            // with Content-Length only
  std::string raw;                             // the request's bytes as they came
  Clock::time_point at;

  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
  bool has_header(const std::string& lower_name) const { return headers.count(lower_name) != 0; }
};

class FixtureServer;

/// One accepted connection, as a script sees it.
class FixtureConnection {
 public:
  FixtureConnection(FixtureServer& server, int fd) : server_(server), fd_(fd) {}

  /// Reads a request head (and a Content-Length body) and records it. False
  /// if the peer closed or sent no complete head within a few seconds.
  bool read_request();
  /// Sends bytes; false once the peer is gone.
  bool send(const std::string& bytes);
  /// Sends `bytes` in pieces of `piece` bytes, each its own segment.
  bool send_split(const std::string& bytes, std::size_t piece);
  /// Waits until the peer closes the connection or the server shuts down.
  void hold();
  /// Waits `d` unless the server shuts down first.
  void pause(std::chrono::milliseconds d);
  /// A proxy: after read_request(), sends that request to 127.0.0.1:`port`
  /// and copies the answer back until `cut(answer so far)` holds (then the
  /// connection is dropped), either side closes, or the server shuts down.
  void relay(int port, const std::function<bool(const std::string&)>& cut);

 private:
  FixtureServer& server_;
  int fd_;
};

using Script = std::function<void(FixtureConnection&)>;

/// The harness collects a child's output on threads of its own, so right
/// after wait_exit() the last bytes may still be on their way: these wait
/// (briefly) for the output to become `expected`, then return what there is.
inline std::string out_once(Process& p, const std::string& expected) {
  wait_until([&] { return p.out() == expected; }, 3s);
  return p.out();
}
inline std::string err_once(Process& p, const std::string& expected) {
  wait_until([&] { return p.err() == expected; }, 3s);
  return p.err();
}

/// The head of a 200 text/event-stream answer.
inline std::string stream_head(const std::string& extra_headers = "") {
  return "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n" + extra_headers + "\r\n";
}

/// A script: read the request, answer `bytes`, then keep the connection open.
inline Script answer_and_hold(std::string bytes) {
  return [bytes](FixtureConnection& c) {
    if (!c.read_request()) return;
    c.send(bytes);
    c.hold();
  };
}

/// A script: read the request, answer `bytes`, close.
inline Script answer_and_close(std::string bytes) {
  return [bytes](FixtureConnection& c) {
    if (c.read_request()) c.send(bytes);
  };
}

class FixtureServer {
 public:
  explicit FixtureServer(std::vector<Script> scripts) : scripts_(std::move(scripts)) {
    if (scripts_.empty()) throw std::invalid_argument("FixtureServer needs a script");
    if (::pipe2(wake_, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 64) != 0)
      throw std::runtime_error(std::string("fixture bind/listen: ") + std::strerror(errno));
    socklen_t size = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &size);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }

  ~FixtureServer() {
    const char byte = 'x';
    (void)!::write(wake_[1], &byte, 1);
    acceptor_.join();
    for (auto& t : connections_) t.join();
    ::close(listen_fd_);
    ::close(wake_[0]);
    ::close(wake_[1]);
  }

  FixtureServer(const FixtureServer&) = delete;
  FixtureServer& operator=(const FixtureServer&) = delete;

  int port() const noexcept { return port_; }
  std::string url(const std::string& path = "/poll/token") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  std::vector<RecordedRequest> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }
  std::size_t connection_count() const {
    std::lock_guard lock(mu_);
    return accepted_;
  }
  /// When connection `index` (0-based) ended, once it has.
  std::optional<Clock::time_point> ended_at(std::size_t index) const {
    std::lock_guard lock(mu_);
    if (index >= ended_.size() || ended_[index] == Clock::time_point{}) return std::nullopt;
    return ended_[index];
  }
  bool wait_for_requests(std::size_t n, std::chrono::milliseconds timeout = 10s) const {
    return wait_until([&] { return requests().size() >= n; }, timeout);
  }

 private:
  friend class FixtureConnection;

  void accept_loop() {
    for (;;) {
      std::array<pollfd, 2> fds{pollfd{listen_fd_, POLLIN, 0}, pollfd{wake_[0], POLLIN, 0}};
      if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) return;
      if (fds[1].revents != 0) return;
      if ((fds[0].revents & POLLIN) == 0) continue;
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      std::lock_guard lock(mu_);
      const std::size_t index = accepted_++;
      ended_.resize(accepted_);
      const Script script = scripts_[std::min(index, scripts_.size() - 1)];
      connections_.emplace_back([this, fd, index, script] {
        FixtureConnection connection(*this, fd);
        script(connection);
        {
          // Noted before the close, so the client's reconnect always comes after it.
          std::lock_guard inner(mu_);
          ended_[index] = Clock::now();
        }
        ::shutdown(fd, SHUT_RDWR);
        ::close(fd);
      });
    }
  }

  // Waits until `fd` is readable or the server stops; false when stopping or at the deadline.
  bool wait_readable(int fd, std::chrono::milliseconds timeout) {
    std::array<pollfd, 2> fds{pollfd{fd, POLLIN, 0}, pollfd{wake_[0], POLLIN, 0}};
    int ready = 0;
    do {
      ready = ::poll(fds.data(), fds.size(), static_cast<int>(timeout.count()));
    } while (ready < 0 && errno == EINTR);
    return ready > 0 && fds[1].revents == 0;
  }

  std::vector<Script> scripts_;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  int port_ = 0;
  std::thread acceptor_;
  mutable std::mutex mu_;
  std::size_t accepted_ = 0;
  std::vector<Clock::time_point> ended_;
  std::vector<RecordedRequest> requests_;
  std::vector<std::thread> connections_;
};

inline bool FixtureConnection::read_request() {
  std::string bytes;
  std::array<char, 4096> buf;
  const auto deadline = Clock::now() + 5s;
  std::size_t head_end = std::string::npos;
  std::size_t body_size = 0;
  for (;;) {
    if (head_end == std::string::npos) {
      head_end = bytes.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        std::string lower = bytes.substr(0, head_end);
        std::transform(lower.begin(), lower.end(), lower.begin(),
                       [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
        const auto cl = lower.find("\r\ncontent-length:");
        if (cl != std::string::npos) body_size = std::stoul(lower.substr(cl + 17));
      }
    }
    if (head_end != std::string::npos && bytes.size() >= head_end + 4 + body_size) break;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0 || !server_.wait_readable(fd_, left)) return false;
    const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
    if (n <= 0) return false;
    bytes.append(buf.data(), static_cast<std::size_t>(n));
  }
  RecordedRequest r;
  r.at = Clock::now();
  const std::string head = bytes.substr(0, head_end);
  std::size_t line_end = head.find("\r\n");
  const std::string request_line = head.substr(0, line_end);
  const std::size_t sp1 = request_line.find(' ');
  const std::size_t sp2 = request_line.find(' ', sp1 + 1);
  r.method = request_line.substr(0, sp1);
  r.target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
  while (line_end != std::string::npos && line_end < head.size()) {
    const std::size_t start = line_end + 2;
    line_end = head.find("\r\n", start);
    const std::string line = head.substr(start, line_end == std::string::npos ? std::string::npos : line_end - start);
    const std::size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    r.headers[name] = value;
  }
  r.body = bytes.substr(head_end + 4, body_size);
  r.raw = bytes;
  std::lock_guard lock(server_.mu_);
  server_.requests_.push_back(std::move(r));
  return true;
}

inline bool FixtureConnection::send(const std::string& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

inline bool FixtureConnection::send_split(const std::string& bytes, std::size_t piece) {
  for (std::size_t at = 0; at < bytes.size(); at += piece) {
    if (!send(bytes.substr(at, piece))) return false;
    // A moment between pieces so each tends to arrive in a read of its own.
    pause(2ms);
  }
  return true;
}

inline void FixtureConnection::hold() {
  std::array<char, 4096> buf;
  // Readable means data (ignored) or the peer's close (recv returns 0).
  while (server_.wait_readable(fd_, 60s)) {
    if (::recv(fd_, buf.data(), buf.size(), 0) <= 0) return;
  }
}

inline void FixtureConnection::relay(int port, const std::function<bool(const std::string&)>& cut) {
  std::string request;
  {
    std::lock_guard lock(server_.mu_);
    if (server_.requests_.empty()) return;
    request = server_.requests_.back().raw;
  }
  const int upstream = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(upstream, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::send(upstream, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
    ::close(upstream);
    return;
  }
  std::string answer;
  std::array<char, 4096> buf;
  for (;;) {
    std::array<pollfd, 3> fds{pollfd{upstream, POLLIN, 0}, pollfd{fd_, POLLIN, 0}, pollfd{server_.wake_[0], POLLIN, 0}};
    if (::poll(fds.data(), fds.size(), 60000) <= 0 || fds[2].revents != 0) break;
    if (fds[1].revents != 0 && ::recv(fd_, buf.data(), buf.size(), 0) <= 0) break;  // the client left
    if (fds[0].revents != 0) {
      const ssize_t n = ::recv(upstream, buf.data(), buf.size(), 0);
      if (n <= 0) break;
      answer.append(buf.data(), static_cast<std::size_t>(n));
      if (!send(std::string(buf.data(), static_cast<std::size_t>(n)))) break;
      if (cut(answer)) break;
    }
  }
  ::close(upstream);
}

inline void FixtureConnection::pause(std::chrono::milliseconds d) {
  std::array<pollfd, 1> fds{pollfd{server_.wake_[0], POLLIN, 0}};
  ::poll(fds.data(), fds.size(), static_cast<int>(d.count()));
}

}  // namespace es::test
