// SPDX-License-Identifier: GPL-3.0-or-later
#include "publisher.hpp"

#include "tls_client.hpp"

#include <openssl/ssl.h>

#include "chunked_decoder.hpp"
#include "monotonic_clock.hpp"
#include "response_head.hpp"
#include "stamp.hpp"

#include <algorithm>
#include <cerrno>
#include <system_error>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

namespace es::bench {

namespace {

std::string error_text(int error) { return std::system_category().message(error); }

constexpr std::string_view no_response = "no response within 30 s";

/// One keep-alive connection, blocking, with a deadline on every read and write.
class Connection {
 public:
  ~Connection() { close(); }
  bool open() const noexcept { return fd_ >= 0; }
  void close() noexcept {
    if (ssl_) SSL_free(ssl_);
    ssl_ = nullptr;
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    buffer_.clear();
  }

  /// Empty on success, else what went wrong. With `tls_host`, TLS on top.
  std::string connect(const Endpoint& endpoint, const char* tls_host) {
    std::string error = connect(endpoint);
    if (!error.empty() || !tls_host) return error;
    ssl_ = tls_client(fd_, tls_host);
    if (!ssl_ || SSL_connect(ssl_) != 1) {
      close();
      return "TLS handshake failed";
    }
    return {};
  }

  std::string connect(const Endpoint& endpoint) {
    fd_ = ::socket(endpoint.address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return "socket: " + error_text(errno);
    const int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const timeval deadline{30, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &deadline, sizeof deadline);
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &deadline, sizeof deadline);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&endpoint.address), endpoint.length) != 0) {
      const int error = errno;
      close();
      return "connect: " + error_text(error);
    }
    return {};
  }

  std::string send_all(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ssl_ ? SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size()))
                             : ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (ssl_ && n <= 0) return "TLS write failed";
      if (n < 0) {
        if (errno == EINTR) continue;
        return "send: " + error_text(errno);
      }
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
  }

  /// Reads one response; its status, or 0 and `error` set. Closes the
  /// connection afterwards when the server asked for that.
  int read_response(std::string& error) {
    ResponseHead head;
    while ((head = parse_response_head(buffer_)).state == ResponseHead::State::incomplete)
      if (!fill(error)) return 0;
    if (head.state == ResponseHead::State::malformed) {
      error = "malformed response head";
      return 0;
    }
    buffer_.erase(0, head.size);
    const bool bodiless = head.status == 204 || head.status == 304 || (head.status >= 100 && head.status < 200);
    if (bodiless) {
    } else if (head.chunked) {
      ChunkedDecoder chunks;
      for (;;) {
        const auto status = chunks.feed(buffer_, [](std::string_view) {});
        buffer_.clear();
        if (status == ChunkedDecoder::Status::done) break;
        if (status == ChunkedDecoder::Status::malformed) {
          error = "malformed chunked response";
          return 0;
        }
        if (!fill(error)) return 0;
      }
    } else if (head.content_length) {
      while (buffer_.size() < *head.content_length)
        if (!fill(error)) return 0;
      buffer_.erase(0, static_cast<std::size_t>(*head.content_length));
    } else {
      head.close = true;  // the body ends with the connection
      while (fill(error)) {}
      error.clear();
    }
    if (head.close) close();
    return head.status;
  }

 private:
  bool fill(std::string& error) {
    char chunk[16 * 1024];
    for (;;) {
      const ssize_t n = ssl_ ? SSL_read(ssl_, chunk, static_cast<int>(sizeof chunk)) : ::recv(fd_, chunk, sizeof chunk, 0);
      if (n > 0) {
        buffer_.append(chunk, static_cast<std::size_t>(n));
        return true;
      }
      if (n == 0) {
        error = "connection closed by the server";
        return false;
      }
      if (errno == EINTR) continue;
      error = errno == EAGAIN || errno == EWOULDBLOCK ? std::string(no_response) : "recv: " + error_text(errno);
      return false;
    }
  }

  int fd_ = -1;
  SSL* ssl_ = nullptr;
  std::string buffer_;
};

}  // namespace

Publisher::Publisher(Plan plan) : plan_(std::move(plan)) {
  const std::string host = plan_.url.host_header();
  for (const std::string& token : plan_.tokens)
    request_heads_.push_back("POST " + plan_.url.target(token) + " HTTP/1.1\r\nHost: " + host +
                             "\r\nUser-Agent: eventsource-bench\r\nContent-Type: text/plain\r\nContent-Length: " +
                             std::to_string(plan_.size) + "\r\n\r\n");
  total_.accepted_per_token.assign(plan_.tokens.size(), 0);
}

Publisher::~Publisher() {
  for (std::thread& thread : threads_)
    if (thread.joinable()) thread.join();
}

void Publisher::start() {
  started_ = true;
  running_ = plan_.publishers;
  for (unsigned p = 0; p < plan_.publishers; ++p) threads_.emplace_back([this, p] { work(p); });
}

std::uint64_t Publisher::offset_ns(std::uint64_t job) const {
  return static_cast<std::uint64_t>(static_cast<double>(job) * 1e9 / plan_.rate);
}

void Publisher::sleep_until_ns(std::uint64_t due) {
  const timespec at{static_cast<time_t>(due / 1'000'000'000u), static_cast<long>(due % 1'000'000'000u)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, nullptr) == EINTR) {}
}

void Publisher::work(unsigned publisher) {
  Tally tally;
  tally.accepted_per_token.assign(plan_.tokens.size(), 0);
  Connection connection;
  std::string data = make_event_data(plan_.size);
  std::string request;
  const std::uint64_t count = total();
  for (std::uint64_t job = next_.fetch_add(1); job < count; job = next_.fetch_add(1)) {
    const std::size_t token = static_cast<std::size_t>(job % plan_.tokens.size());
    const auto seq = static_cast<std::uint32_t>(job / plan_.tokens.size());
    // Paced, event k is due k / rate after the first send (the schedule's
    // origin): connecting first, and taking the origin from the first send's
    // own time stamp, so nothing before it can squeeze the pace.
    std::string error;
    if (!connection.open())
      error = connection.connect(plan_.endpoint, plan_.url.tls ? plan_.url.host.c_str() : nullptr);
    std::uint64_t send_ns = 0;
    int status = 0;
    if (error.empty()) {
      std::uint64_t origin = plan_.rate > 0 ? schedule_start_ns_.load() : 0;
      if (origin != 0) sleep_until_ns(origin + offset_ns(job));
      send_ns = now_ns();
      if (plan_.rate > 0 && origin == 0 && !schedule_start_ns_.compare_exchange_strong(origin, send_ns)) {
        sleep_until_ns(origin + offset_ns(job)); // another publisher sent first
        send_ns = now_ns();
      }
      write_stamp(data, Stamp{seq, publisher, send_ns});
      request.assign(request_heads_[token]).append(data);
      error = connection.send_all(request);
      if (error.empty()) status = connection.read_response(error);
    }
    const std::uint64_t finished_ns = now_ns();
    if (!error.empty()) {
      connection.close();
      ++tally.failed;
      ++tally.failures[error];
      // A server that does not answer in 30 s would hold the run for 30 s per
      // remaining event: stop publishing; what was not sent is counted unsent.
      if (error == no_response) next_.store(count);
    } else {
      if (tally.first_send_ns == 0) tally.first_send_ns = send_ns;
      tally.last_done_ns = finished_ns;
      tally.round_trip.record(finished_ns - send_ns);
      if (status >= 200 && status < 300) {
        ++tally.accepted;
        ++tally.accepted_per_token[token];
      } else {
        ++tally.failed;
        ++tally.failures["HTTP " + std::to_string(status)];
      }
    }
    done_.fetch_add(1, std::memory_order_relaxed);
  }
  merge(tally);
  running_.fetch_sub(1);
}

void Publisher::merge(const Tally& tally) {
  const std::lock_guard lock(mutex_);
  for (std::size_t t = 0; t < tally.accepted_per_token.size(); ++t)
    total_.accepted_per_token[t] += tally.accepted_per_token[t];
  total_.accepted += tally.accepted;
  total_.failed += tally.failed;
  if (tally.first_send_ns != 0 && (total_.first_send_ns == 0 || tally.first_send_ns < total_.first_send_ns))
    total_.first_send_ns = tally.first_send_ns;
  total_.last_done_ns = std::max(total_.last_done_ns, tally.last_done_ns);
  total_.round_trip.merge(tally.round_trip);
  for (const auto& [kind, n] : tally.failures) total_.failures[kind] += n;
}

PublishFigures Publisher::figures() {
  for (std::thread& thread : threads_)
    if (thread.joinable()) thread.join();
  const std::lock_guard lock(mutex_);
  PublishFigures figures;
  figures.planned = total();
  figures.attempted = total_.accepted + total_.failed;
  figures.accepted = total_.accepted;
  figures.failed = total_.failed;
  figures.accepted_per_token = total_.accepted_per_token;
  figures.round_trip = total_.round_trip;
  figures.first_send_ns = total_.first_send_ns;
  figures.last_done_ns = total_.last_done_ns;
  figures.failures = total_.failures;
  return figures;
}

}  // namespace es::bench
