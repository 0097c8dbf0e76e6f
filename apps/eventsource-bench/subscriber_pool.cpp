// SPDX-License-Identifier: GPL-3.0-or-later
#include "subscriber_pool.hpp"

#include "monotonic_clock.hpp"
#include "response_head.hpp"
#include "stamp.hpp"
#include "tls_client.hpp"

#include <openssl/ssl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace es::bench {

namespace {

constexpr std::size_t max_head = 16 * 1024;
constexpr std::size_t read_buffer_size = 64 * 1024;
constexpr int max_events = 1024;

std::string error_text(int error) { return std::system_category().message(error); }

}  // namespace

SubscriberPool::SubscriberPool(Plan plan)
    : plan_(std::move(plan)), subscribers_(plan_.subscribers), read_buffer_(read_buffer_size),
      connect_failures_by_url_(plan_.urls.size()) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) throw std::system_error(errno, std::system_category(), "epoll_create1");
  for (std::size_t i = 0; i < subscribers_.size(); ++i) {
    subscribers_[i].token = static_cast<std::uint32_t>(i % plan_.tokens.size());
    subscribers_[i].server = static_cast<std::uint32_t>(i / plan_.tokens.size() % plan_.urls.size());
  }
  const std::string accept = plan_.websocket ? "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                                               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                               "Sec-WebSocket-Version: 13\r\n"
                                             : "Accept: text/event-stream\r\nCache-Control: no-cache\r\n";
  for (const UrlTemplate& url : plan_.urls)
    for (const std::string& token : plan_.tokens)
      requests_.push_back("GET " + url.target(token) + " HTTP/1.1\r\nHost: " + url.host_header() + "\r\n" +
                          accept + "User-Agent: eventsource-bench\r\n\r\n");
}

SubscriberPool::~SubscriberPool() {
  close_all();
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

void SubscriberPool::poll(int timeout_ms) {
  std::uint64_t now = now_ns();
  while (in_flight_ < plan_.concurrency && next_to_start_ < subscribers_.size()) start(next_to_start_++, now);

  epoll_event events[max_events];
  const int ready = epoll_wait(epoll_fd_, events, max_events, timeout_ms);
  if (ready < 0 && errno != EINTR) throw std::system_error(errno, std::system_category(), "epoll_wait");
  for (int k = 0; k < ready; ++k) {
    const std::size_t index = static_cast<std::size_t>(events[k].data.u64);
    const Subscriber& subscriber = subscribers_[index];
    if (subscriber.state == State::connecting) {
      on_connected(index, true);
    } else if (subscriber.state == State::handshaking) {
      continue_handshake(index);
    } else if (subscriber.state == State::awaiting_head || subscriber.state == State::streaming) {
      // Time is read per connection: what a subscriber receives late because
      // the bench was busy with others still counts against the run, as it would
      // for any client, but not more than that.
      on_readable(index, now_ns());
    }
  }
  now = now_ns();
  expire_heads(now);
  if (connect_done_ns_ == 0 && connecting_done()) connect_done_ns_ = now;
}

void SubscriberPool::start(std::size_t index, std::uint64_t now) {
  Subscriber& subscriber = subscribers_[index];
  if (first_start_ns_ == 0) first_start_ns_ = now;
  subscriber.started_ns = now;
  const Endpoint& endpoint = plan_.endpoints[subscriber.server];
  const int fd = ::socket(endpoint.address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    fail(index, "socket: " + error_text(errno));
    return;
  }
  subscriber.fd = fd;
  subscriber.state = State::connecting;
  ++in_flight_;
  awaiting_.push_back(index);
  if (plan_.source_addresses > 1) {
    // Let connect() pick the port for the full 4-tuple, not bind() for the
    // address alone: that is what lets each source address hold ~28k.
    const int one = 1;
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    const sockaddr_in source = loopback_source(static_cast<unsigned>(index), plan_.source_addresses);
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&source), sizeof source) != 0) {
      fail(index, "bind: " + error_text(errno));
      return;
    }
  }
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&endpoint.address), endpoint.length) == 0) {
    on_connected(index, false);
    return;
  }
  if (errno != EINPROGRESS) {
    fail(index, "connect: " + error_text(errno));
    return;
  }
  epoll_event event{};
  event.events = EPOLLOUT;
  event.data.u64 = index;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) fail(index, "epoll_ctl: " + error_text(errno));
}

void SubscriberPool::on_connected(std::size_t index, bool registered) {
  Subscriber& subscriber = subscribers_[index];
  int error = 0;
  socklen_t length = sizeof error;
  if (getsockopt(subscriber.fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
  if (error != 0) {
    fail(index, "connect: " + error_text(error));
    return;
  }
  epoll_event event{};
  event.events = EPOLLIN | EPOLLOUT | EPOLLET;
  event.data.u64 = index;
  if (epoll_ctl(epoll_fd_, registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, subscriber.fd, &event) != 0) {
    fail(index, "epoll_ctl: " + error_text(errno));
    return;
  }
  if (const UrlTemplate& url = plan_.urls[subscriber.server]; url.tls) {
    subscriber.ssl = tls_client(subscriber.fd, url.host.c_str());
    if (!subscriber.ssl) {
      fail(index, "TLS: no session");
      return;
    }
    subscriber.state = State::handshaking;
    continue_handshake(index);
    return;
  }
  send_request(index);
}

void SubscriberPool::continue_handshake(std::size_t index) {
  Subscriber& subscriber = subscribers_[index];
  const int ret = SSL_do_handshake(subscriber.ssl);
  if (ret == 1) {
    send_request(index);
    return;
  }
  const int error = SSL_get_error(subscriber.ssl, ret);
  if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) return; // edge-triggered on both
  fail(index, "TLS handshake failed");
}

void SubscriberPool::send_request(std::size_t index) {
  Subscriber& subscriber = subscribers_[index];
  const std::string& request = requests_[subscriber.server * plan_.tokens.size() + subscriber.token];
  const ssize_t sent = subscriber.ssl ? SSL_write(subscriber.ssl, request.data(), static_cast<int>(request.size()))
                                      : ::send(subscriber.fd, request.data(), request.size(), MSG_NOSIGNAL);
  if (sent != static_cast<ssize_t>(request.size())) {
    // A request of a few hundred bytes always fits an empty socket buffer.
    fail(index, sent < 0 ? "send: " + error_text(errno) : "send: short write of the request");
    return;
  }
  subscriber.state = State::awaiting_head;
  // Bytes may have come with the handshake already: edge-triggered epoll would not say again.
  if (subscriber.ssl) on_readable(index, now_ns());
}

ssize_t SubscriberPool::read_some(Subscriber& subscriber) {
  if (!subscriber.ssl) return ::read(subscriber.fd, read_buffer_.data(), read_buffer_.size());
  const int n = SSL_read(subscriber.ssl, read_buffer_.data(), static_cast<int>(read_buffer_.size()));
  if (n > 0) return n;
  const int error = SSL_get_error(subscriber.ssl, n);
  if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
    errno = EAGAIN;
    return -1;
  }
  if (error == SSL_ERROR_ZERO_RETURN) return 0;
  errno = error == SSL_ERROR_SYSCALL && errno != 0 ? errno : EPROTO;
  return error == SSL_ERROR_SYSCALL && errno == 0 ? 0 : -1;
}

void SubscriberPool::on_readable(std::size_t index, std::uint64_t now) {
  Subscriber& subscriber = subscribers_[index];
  // Edge-triggered: a read that does not fill the buffer has emptied the
  // socket, and whatever arrives later raises a new edge. That saves the
  // re-poll of every ready socket that level-triggered epoll makes.
  for (;;) {
    const ssize_t n = read_some(subscriber);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) fail(index, "read: " + error_text(errno));
      return;
    }
    if (n == 0) {
      fail(index, subscriber.state == State::awaiting_head ? "closed before the response head"
                                                           : "stream closed by the server");
      return;
    }
    const std::string_view bytes(read_buffer_.data(), static_cast<std::size_t>(n));
    receive_ns_ = now;
    if (subscriber.state == State::streaming) {
      on_body(index, bytes);
    } else {
      subscriber.head.append(bytes);
      on_head(index, now);
    }
    const bool open = subscriber.state == State::streaming || subscriber.state == State::awaiting_head;
    // A short read emptied the socket. Not so with TLS: SSL_read returns one
    // record and may leave more in the socket, so read on until it would block.
    if (!open || (static_cast<std::size_t>(n) < read_buffer_.size() && !subscriber.ssl)) return;
    now = now_ns();
  }
}

void SubscriberPool::on_head(std::size_t index, std::uint64_t now) {
  Subscriber& subscriber = subscribers_[index];
  const ResponseHead head = parse_response_head(subscriber.head);
  if (head.state == ResponseHead::State::incomplete) {
    if (subscriber.head.size() > max_head) fail(index, "response head over 16 KiB");
    return;
  }
  if (head.state == ResponseHead::State::malformed) {
    fail(index, "malformed response head");
    return;
  }
  if (head.status != (plan_.websocket ? 101 : 200)) {
    fail(index, "HTTP " + std::to_string(head.status));
    return;
  }
  --in_flight_;
  ++connected_;
  head_latency_.record(now - subscriber.started_ns);
  subscriber.state = State::streaming;
  subscriber.chunked = head.chunked;
  subscriber.seen.assign((plan_.events + 63) / 64, 0);
  subscriber.last_by_publisher.assign(plan_.publishers, 0);
  if (!plan_.websocket)
    subscriber.parser = std::make_unique<es::Parser>(es::Parser::Handlers{
        [this, index](const es::Event& event) { on_event(index, event.data); }, {}, {}});
  const std::string rest = subscriber.head.substr(head.size);
  std::string().swap(subscriber.head);
  if (!rest.empty()) on_body(index, rest);
}

void SubscriberPool::on_body(std::size_t index, std::string_view bytes) {
  Subscriber& subscriber = subscribers_[index];
  if (plan_.websocket) {
    const auto status =
        subscriber.frames.feed(bytes, [&](std::string_view payload) { on_event(index, ws_event_data(payload)); });
    if (status == WsFrameDecoder::Status::closed) fail(index, "stream closed by the server (close frame)");
    if (status == WsFrameDecoder::Status::malformed) fail(index, "malformed WebSocket frame");
    return;
  }
  const auto parse = [&](std::string_view piece) {
    if (subscriber.state != State::streaming) return;
    const es::ParseError error = subscriber.parser->feed(piece);
    if (error != es::ParseError::none) fail(index, "stream: " + es::describe(error, es::ParserLimits{}));
  };
  if (!subscriber.chunked) {
    parse(bytes);
    return;
  }
  switch (subscriber.chunks.feed(bytes, parse)) {
    case ChunkedDecoder::Status::more: break;
    case ChunkedDecoder::Status::done: fail(index, "stream ended by the server (last chunk)"); break;
    case ChunkedDecoder::Status::malformed: fail(index, "malformed chunked body"); break;
  }
}

void SubscriberPool::on_event(std::size_t index, std::string_view data) {
  Subscriber& subscriber = subscribers_[index];
  const auto stamp = read_stamp(data);
  if (!stamp || stamp->seq >= plan_.events || stamp->publisher >= plan_.publishers) {
    ++subscriber.unrecognised;
    return;
  }
  std::uint64_t& word = subscriber.seen[stamp->seq / 64];
  const std::uint64_t bit = std::uint64_t{1} << (stamp->seq % 64);
  if (word & bit) {
    ++subscriber.duplicated;
    return;
  }
  word |= bit;
  ++subscriber.unique;
  ++delivered_;
  last_delivery_ns_ = receive_ns_;
  latency_.record(receive_ns_ > stamp->send_ns ? receive_ns_ - stamp->send_ns : 0);
  // A publisher waits for each answer before it sends again, so a server that
  // keeps the order in which it accepted events delivers each publisher's
  // events in the order of their sequence numbers.
  std::uint32_t& last = subscriber.last_by_publisher[stamp->publisher];
  if (stamp->seq + 1 < last) ++subscriber.out_of_order;
  else last = stamp->seq + 1;
  if (!accepted_.empty() && subscriber.unique <= accepted_[subscriber.token] && outstanding_ > 0) --outstanding_;
}

void SubscriberPool::expect(std::vector<std::uint32_t> accepted) {
  accepted_ = std::move(accepted);
  outstanding_ = 0;
  for (const Subscriber& subscriber : subscribers_)
    if (subscriber.state == State::streaming && subscriber.unique < accepted_[subscriber.token])
      outstanding_ += accepted_[subscriber.token] - subscriber.unique;
}

void SubscriberPool::fail(std::size_t index, const std::string& kind) {
  Subscriber& subscriber = subscribers_[index];
  if (subscriber.state == State::streaming) {
    ++stream_failures_[kind];
    subscriber.state = State::ended;
    if (!accepted_.empty() && subscriber.unique < accepted_[subscriber.token])
      outstanding_ -= std::min<std::uint64_t>(outstanding_, accepted_[subscriber.token] - subscriber.unique);
  } else {
    if (subscriber.state == State::connecting || subscriber.state == State::handshaking ||
        subscriber.state == State::awaiting_head)
      --in_flight_;
    ++connect_failures_[kind];
    ++connect_failures_by_url_[subscriber.server][kind];
    ++failed_to_connect_;
    subscriber.state = State::failed;
    std::string().swap(subscriber.head);
  }
  if (subscriber.ssl) SSL_free(subscriber.ssl);
  subscriber.ssl = nullptr;
  if (subscriber.fd >= 0) ::close(subscriber.fd);  // also leaves the epoll set
  subscriber.fd = -1;
}

void SubscriberPool::expire_heads(std::uint64_t now) {
  while (!awaiting_.empty()) {
    const std::size_t index = awaiting_.front();
    const State state = subscribers_[index].state;
    if (state != State::connecting && state != State::handshaking && state != State::awaiting_head) {
      awaiting_.pop_front();
      continue;
    }
    if (now - subscribers_[index].started_ns < plan_.head_timeout_ns) break;
    awaiting_.pop_front();
    fail(index, state == State::connecting ? "connect timed out" : "timed out waiting for the response head");
  }
}

void SubscriberPool::fill(ConnectFigures& connect, DeliveryFigures& delivery,
                          std::vector<UrlFigures>& per_url) const {
  connect.connected = connected_;
  connect.duration_ns = connect_done_ns_ > first_start_ns_ ? connect_done_ns_ - first_start_ns_ : 0;
  connect.head_latency = head_latency_;
  connect.failures = connect_failures_;

  delivery.delivered = delivered_;
  delivery.last_delivery_ns = last_delivery_ns_;
  delivery.latency = latency_;
  delivery.stream_failures = stream_failures_;
  per_url.assign(plan_.urls.size(), UrlFigures{});
  for (std::size_t u = 0; u < per_url.size(); ++u) per_url[u].failures = connect_failures_by_url_[u];
  for (const Subscriber& subscriber : subscribers_) {
    UrlFigures& url = per_url[subscriber.server];
    ++url.subscribers;
    if (subscriber.state != State::streaming && subscriber.state != State::ended) continue;
    ++url.connected;
    const std::uint64_t expected = accepted_.empty() ? 0 : accepted_[subscriber.token];
    delivery.expected += expected;
    url.expected += expected;
    url.delivered += subscriber.unique;
    const std::uint64_t lost = expected > subscriber.unique ? expected - subscriber.unique : 0;
    delivery.lost += lost;
    url.lost += lost;
    delivery.max_lost_per_subscriber = std::max(delivery.max_lost_per_subscriber, lost);
    delivery.duplicated += subscriber.duplicated;
    delivery.out_of_order += subscriber.out_of_order;
    delivery.unrecognised += subscriber.unrecognised;
    if (lost > 0) ++delivery.subscribers_with_loss;
    if (subscriber.duplicated > 0) ++delivery.subscribers_with_duplicates;
    if (subscriber.out_of_order > 0) ++delivery.subscribers_out_of_order;
  }
}

void SubscriberPool::close_all() noexcept {
  const linger reset{1, 0};
  for (Subscriber& subscriber : subscribers_) {
    if (subscriber.fd < 0) continue;
    setsockopt(subscriber.fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    if (subscriber.ssl) SSL_free(subscriber.ssl);
    subscriber.ssl = nullptr;
    ::close(subscriber.fd);
    subscriber.fd = -1;
  }
}

}  // namespace es::bench
