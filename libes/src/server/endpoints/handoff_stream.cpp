// SPDX-License-Identifier: GPL-3.0-or-later
#include "server/endpoints/handoff_stream.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

namespace es {
namespace {

constexpr std::size_t read_chunk = 16 * 1024;
constexpr std::size_t write_gather_limit = 64 * 1024;

}  // namespace

HandoffStream::HandoffStream(Connection& connection, std::chrono::milliseconds timeout, std::size_t read_budget)
    : connection_(connection),
      timeout_ms_(static_cast<int>(timeout.count())),
      budget_(read_budget),
      input_(std::move(connection.input)) {}

bool HandoffStream::wait_for(short events) const {
  pollfd p{connection_.fd(), events, 0};
  for (;;) {
    int r = ::poll(&p, 1, timeout_ms_);
    if (r < 0 && errno == EINTR) continue;
    return r > 0;
  }
}

bool HandoffStream::is_readable() const {
  return input_pos_ < input_.size() || connection_.io->has_buffered_input() || wait_for(POLLIN);
}

bool HandoffStream::is_writable() const { return wait_for(POLLOUT); }

ssize_t HandoffStream::fill() {
  // The client may be waiting for what we wrote (100 Continue) before it sends more.
  if (!flush()) return -1;
  input_.clear();
  input_pos_ = 0;
  if (socket_bytes_ >= budget_) {
    over_budget_ = true;
    return -1;
  }
  input_.resize(read_chunk);
  for (;;) {
    IoResult r = connection_.io->read(input_.data(), std::min(read_chunk, budget_ - socket_bytes_));
    if (r.status == IoStatus::ok) {
      input_.resize(r.bytes);
      socket_bytes_ += r.bytes;
      return static_cast<ssize_t>(r.bytes);
    }
    if (r.status == IoStatus::would_block && wait_for(r.want == IoWant::read ? POLLIN : POLLOUT)) continue;
    input_.clear();
    if (r.status == IoStatus::closed) return 0;
    failed_ = true;
    return -1; // a timeout, a reset
  }
}

ssize_t HandoffStream::read(char* ptr, size_t size) {
  if (input_pos_ == input_.size()) {
    ssize_t n = fill();
    if (n <= 0) return n;
  }
  const std::size_t n = std::min(size, input_.size() - input_pos_);
  std::memcpy(ptr, input_.data() + input_pos_, n);
  input_pos_ += n;
  return static_cast<ssize_t>(n);
}

ssize_t HandoffStream::write(const char* ptr, size_t size) {
  if (failed_) return -1;
  output_.append(ptr, size);
  if (output_.size() >= write_gather_limit && !flush()) return -1;
  return static_cast<ssize_t>(size);
}

bool HandoffStream::flush() {
  std::size_t done = 0;
  while (!failed_ && done < output_.size()) {
    iovec piece{output_.data() + done, output_.size() - done};
    IoResult r = connection_.io->write(std::span<const iovec>(&piece, 1));
    if (r.status == IoStatus::ok) {
      done += r.bytes;
    } else if (r.status != IoStatus::would_block || !wait_for(r.want == IoWant::read ? POLLIN : POLLOUT)) {
      failed_ = true;
    }
  }
  output_.clear();
  return !failed_;
}

void HandoffStream::get_remote_ip_and_port(std::string& ip, int& port) const {
  // From "IP:PORT" / "[IPv6]:PORT" (format_address): kept once per connection, not twice.
  const std::string& remote = connection_.remote;
  const std::size_t colon = remote.rfind(':');
  const bool bracketed = !remote.empty() && remote.front() == '[';
  ip = remote.substr(bracketed ? 1 : 0, colon - (bracketed ? 2 : 0));
  port = std::atoi(remote.c_str() + colon + 1);
}

void HandoffStream::get_local_ip_and_port(std::string& ip, int& port) const {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  ip.clear();
  port = -1;
  if (::getsockname(connection_.fd(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) return;
  char text[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&addr);
    ::inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text);
    port = ntohs(a->sin6_port);
  } else {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&addr);
    ::inet_ntop(AF_INET, &a->sin_addr, text, sizeof text);
    port = ntohs(a->sin_port);
  }
  ip = text;
}

socket_t HandoffStream::socket() const { return connection_.fd(); }

std::string HandoffStream::take_unread() {
  if (failed_) return {};
  input_.erase(0, input_pos_);
  input_pos_ = 0;
  return std::move(input_);
}

}  // namespace es
