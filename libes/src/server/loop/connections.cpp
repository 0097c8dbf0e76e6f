// SPDX-License-Identifier: GPL-3.0-or-later
// The loop's connections: accepting (and running out of descriptors), their
// registration with the poller, the I/O layer's handshake, dispatching
// readiness by state, and closing.
#include "server/loop/event_loop.hpp"

#include "common/format.hpp"
#include "server/loop/loop_limits.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include <sys/resource.h>

namespace es {
namespace {

/// The soft limit on open files, if it can be read.
std::optional<rlim_t> open_files_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return std::nullopt;
  return rl.rlim_cur;
}

std::string descriptor_limit() {
  const auto limit = open_files_limit();
  return limit ? std::to_string(*limit) : "unknown";
}

constexpr std::uint32_t read_events = EPOLLIN | EPOLLRDHUP;

}  // namespace

// One line for the log: each stream holds one descriptor. Seven are taken
// anyway (stdio, the listening socket, epoll, the mailbox, the spare kept for
// EMFILE: docs/server.md measured 93 streams under `ulimit -n 100`), and a
// publisher's request holds one while a worker serves it. Large figures are
// rounded down (to hundreds from 10,000, to thousands from 100,000).
std::string descriptor_capacity_line(unsigned workers) {
  const auto limit = open_files_limit();
  if (!limit) return "descriptors: unknown";
  if (*limit == RLIM_INFINITY) return "descriptors: unlimited";
  const rlim_t reserved = 7 + rlim_t{workers};
  rlim_t streams = *limit > reserved ? *limit - reserved : 0;
  if (streams >= 100000)
    streams -= streams % 1000;
  else if (streams >= 10000)
    streams -= streams % 100;
  return "descriptors: " + std::to_string(*limit) + " (about " + std::to_string(streams) + " streams)";
}

namespace {

}  // namespace

void EventLoop::accept_ready() {
  for (int i = 0; i < loop_limits::accept_burst; ++i) {
    AcceptedSocket socket;
    int error = 0;
    switch (listener_->accept(socket, error)) {
      case AcceptStatus::accepted:
        if (descriptors_exhausted_) {
          descriptors_exhausted_ = false;
          log_.info("descriptors available again: accepting connections");
        }
        add_connection(std::move(socket));
        break;
      case AcceptStatus::none_pending:
        return;
      case AcceptStatus::refused:
        counters_.add(Counter::refused_connections);
        if (!descriptors_exhausted_) {
          descriptors_exhausted_ = true;
          log_.warn("out of file descriptors (limit " + descriptor_limit() +
                    "): refusing new connections with 503 until some close (raise `ulimit -n`)");
        }
        break;
      case AcceptStatus::stalled:
      case AcceptStatus::failed:
        if (error == ECONNABORTED || error == EPROTO) break; // that client is gone; others may wait
        log_.warn(std::string("accept failed: ") + std::strerror(error) + "; pausing accepts for 100ms");
        if (int e = poller_.remove(listener_->fd()))
          log_.error(std::string("epoll_ctl (pausing accepts): ") + std::strerror(e));
        accept_paused_ = true;
        accept_paused_until_ = now_ + loop_limits::accept_pause;
        return;
    }
  }
}

void EventLoop::resume_accepting() {
  if (!listener_ || listener_->fd() < 0) {
    accept_paused_ = false;
    return;
  }
  if (int e = poller_.add(listener_->fd(), EPOLLIN, loop_limits::listener_tag)) {
    // Try again after another pause rather than never accept again.
    log_.error(std::string("epoll_ctl (resuming accepts): ") + std::strerror(e) + "; retrying in 100ms");
    accept_paused_until_ = now_ + loop_limits::accept_pause;
    return;
  }
  accept_paused_ = false;
}

Connection* EventLoop::add_connection(AcceptedSocket&& socket) {
  const auto index = static_cast<std::size_t>(socket.fd);
  if (index >= connections_.size()) connections_.resize(std::max(index + 1, connections_.size() * 2));
  auto c = std::make_unique<Connection>();
  c->io = make_io_(socket.fd);
  c->serial = next_serial_++;
  c->remote = format_address(socket.ip, socket.port);
  if (socket.nodelay_error != 0)
    log_.warn(std::string("TCP_NODELAY on ") + c->remote + ": " + std::strerror(socket.nodelay_error) +
              "; its events may be delayed");
  c->started = now_;
  c->deadline = now_ + options_.request_timeout;
  c->state = ConnectionState::handshaking;

  if (int e = poller_.add(socket.fd, read_events, static_cast<std::uint64_t>(socket.fd))) {
    log_.error(std::string("epoll_ctl (new connection): ") + std::strerror(e) + "; dropping " + c->remote);
    return nullptr; // c's destructor closes the socket
  }
  c->in_poller = true;
  if (log_.debugging()) log_.debug("accepted " + c->remote + " (fd " + std::to_string(socket.fd) + ")");
  connections_[index] = std::move(c);
  ++open_connections_;
  Connection* added = connections_[index].get();
  continue_handshake(*added);
  return find(static_cast<int>(index));
}

void EventLoop::destroy(Connection& c) {
  if (c.state == ConnectionState::streaming) {
    if (registry_.unsubscribe(static_cast<SubscriberId>(c.fd())).was_subscribed) {
      census_.leave(c.token);
      unfollow(c.token);
    }
    counters_.subscribers_by_kind[c.kind].fetch_sub(1, std::memory_order_relaxed);
  }
  if (c.subscriber_id != 0 && log_.logs_access())
    log_access(c, kinds_[c.kind]->opening_status(),
               "stream " + format_duration(now_ - c.started) + ", " + std::to_string(c.events_written) + " events, " +
                   std::string(to_string(c.close_reason)));
  if (log_.debugging()) log_.debug("closed " + c.remote + " (fd " + std::to_string(c.fd()) + ")");
  const auto index = static_cast<std::size_t>(c.fd());
  // Closing the descriptor also removes it from the epoll set.
  connections_[index].reset();
  --open_connections_;
}

bool EventLoop::watch(Connection& c) {
  if (int e = poller_.add(c.fd(), read_events, static_cast<std::uint64_t>(c.fd()))) {
    log_.error(std::string("epoll_ctl (connection back from a worker): ") + std::strerror(e) + "; closing " +
               c.remote);
    destroy(c);
    return false;
  }
  c.in_poller = true;
  return true;
}

bool EventLoop::leave_poller(Connection& c, const char* why) {
  if (int e = poller_.remove(c.fd())) {
    log_.error(std::string("epoll_ctl (") + why + "): " + std::strerror(e) + "; closing " + c.remote);
    destroy(c);
    return false;
  }
  c.in_poller = false;
  c.want_write = false;
  return true;
}

bool EventLoop::update_events(Connection& c) {
  const int fd = c.fd();
  const std::uint64_t serial = c.serial;
  const std::uint32_t events = (c.reads_paused ? 0u : read_events) | (c.want_write ? EPOLLOUT : 0u);
  if (int e = poller_.modify(c.fd(), events, static_cast<std::uint64_t>(c.fd()))) {
    // Without the registration the connection would never be served again.
    log_.error(std::string("epoll_ctl (connection): ") + std::strerror(e) + "; closing " + c.remote);
    if (c.state == ConnectionState::streaming) end_subscription(c, CloseReason::write_failed);
    if (find(QueueRef{fd, serial})) destroy(c);
    return false;
  }
  return true;
}

void EventLoop::on_event(Connection& c, std::uint32_t flags) {
  if (c.state == ConnectionState::handed_off) {
    // A parked publish (see serve_publish) heard from before its answer:
    // out of the poller until then, or the event would come every turn.
    if (c.parked && c.in_poller && !leave_poller(c, "parked publish")) --handed_off_; // closed
    return;
  }
  const QueueRef ref{c.fd(), c.serial};
  if (c.state == ConnectionState::handshaking) {
    continue_handshake(c);
    return;
  }
  if (flags & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) on_readable(c);
  if (Connection* still = find(ref); still && (flags & EPOLLOUT)) flush(*still);
}

void EventLoop::continue_handshake(Connection& c) {
  const IoResult r = c.io->handshake();
  if (r.status == IoStatus::would_block) {
    const bool want_write = r.want == IoWant::write;
    if (want_write != c.want_write) {
      c.want_write = want_write;
      update_events(c);
    }
    return;
  }
  if (r.status != IoStatus::ok) {
    counters_.add(Counter::handshake_failures);
    if (log_.debugging()) log_.debug(c.remote + " TLS handshake failed: " + std::strerror(r.error));
    destroy(c);
    return;
  }
  c.state = ConnectionState::reading_head;
  if (c.want_write) {
    c.want_write = false;
    if (!update_events(c)) return;
  }
  // A TLS layer may already hold the start of the request.
  if (c.io->has_buffered_input()) read_head(c);
}

void EventLoop::on_readable(Connection& c) {
  switch (c.state) {
    case ConnectionState::reading_head:
      read_head(c);
      break;
    case ConnectionState::reading_body:
      read_body(c);
      break;
    case ConnectionState::streaming:
    case ConnectionState::closing:
      read_stream_input(c);
      break;
    case ConnectionState::handshaking:
    case ConnectionState::handed_off:
      break;
  }
}

}  // namespace es
