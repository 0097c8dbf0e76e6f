// SPDX-License-Identifier: GPL-3.0-or-later
#include "streaming_loop.hpp"

#include "http_target.hpp"
#include "plain_response.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <exception>
#include <system_error>

#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

namespace es {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t max_head_bytes = 32 * 1024; // answered 431 above
constexpr std::size_t scratch_bytes = 64 * 1024;
constexpr int accept_burst = 256;                 // accepts per turn, so a connect storm cannot starve streams
constexpr int reads_per_turn = 4;                 // per connection, for the same reason
constexpr std::size_t iovecs_per_write = 64;
// Queues written per turn. A fan-out to many subscribers is written in
// slices, with the epoll set (publishes, requests) looked at in between;
// events published meanwhile join the queues not yet written, so under load
// one writev carries several events (docs/performance.md).
constexpr std::size_t writes_per_turn = 128;
constexpr auto housekeeping_interval = 1s;
constexpr auto linger_time = 2s;                  // after our FIN, wait this long for the peer's
constexpr auto accept_pause = 100ms;              // when out of descriptors with no spare left
constexpr auto hard_stop_margin = 3s;             // after the grace period, for workers to give back

// epoll_event.data for the two descriptors that are not connections.
constexpr std::uint64_t listener_tag = ~std::uint64_t{0};
constexpr std::uint64_t inbox_tag = ~std::uint64_t{0} - 1;

HistoryLimits history_limits(const ServerOptions& o) {
  // Without ids nothing can be replayed; --latest still needs each token's newest event.
  std::size_t events = o.kind.ids ? o.history_events : 0;
  if (o.latest) events = std::max<std::size_t>(events, 1);
  if (events == 0) return {};
  return {events, o.history_age};
}

std::string format_duration(HubClock::duration d) {
  using namespace std::chrono;
  auto us = duration_cast<microseconds>(d).count();
  char buf[32];
  if (us < 1000)
    std::snprintf(buf, sizeof buf, "%lldus", static_cast<long long>(us));
  else if (us < 1000000)
    std::snprintf(buf, sizeof buf, "%.1fms", static_cast<double>(us) / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(us) / 1e6);
  return buf;
}

// The raw bytes a chunked body may take, framing included (the same room
// the worker's read budget gives a request): many tiny chunks or long chunk
// extensions cannot grow the buffer without bound.
std::size_t chunked_bytes_limit(const ServerOptions& o) { return o.max_body + o.max_body / 4 + 64 * 1024; }

std::string body_too_large(std::size_t max_body) {
  return "Body too large (limit " + std::to_string(max_body) + " bytes)";
}

std::optional<std::size_t> parse_content_length(std::string_view s) {
  std::size_t value = 0;
  if (s.empty()) return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return value;
}

std::string descriptor_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return "unknown";
  return std::to_string(rl.rlim_cur);
}

}  // namespace

StreamingLoop::StreamingLoop(const ServerOptions& options, const ServerLog& log, const CorsPolicy& cors,
                             LoopCounters& counters, const LoopHooks& hooks, Handoff handoff)
    : options_(options),
      log_(log),
      cors_(cors),
      counters_(counters),
      hooks_(hooks),
      handoff_(std::move(handoff)),
      hub_(history_limits(options)),
      store_(hub_, options.kind.ids),
      plain_stream_head_(std::make_shared<const std::string>(transport_.open_stream({}))),
      scratch_(scratch_bytes) {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
}

StreamingLoop::~StreamingLoop() {
  finish();
  ::close(epoll_fd_);
}

void StreamingLoop::bind() {
  if (listener_) return;
  listener_ = std::make_unique<ListenSocket>(options_.host, options_.port);
  port_ = listener_->port();
}

// ---------------------------------------------------------------------------
// The loop

void StreamingLoop::run() {
  loop_thread_ = std::this_thread::get_id();
  bind();
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = listener_tag;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listener_->fd(), &ev);
  ev.data.u64 = inbox_tag;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, inbox_.fd(), &ev);

  now_ = HubClock::now();
  next_keepalive_ = options_.keepalive.count() > 0 ? now_ + options_.keepalive : HubClock::time_point::max();
  next_housekeeping_ = now_ + housekeeping_interval;
  accepting_ = true;
  log_.info("listening on " + listener_->address());

  std::array<epoll_event, 512> events;
  for (;;) {
    int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), next_timeout_ms());
    if (n < 0) {
      if (errno == EINTR) continue;
      log_.info(std::string("epoll_wait failed: ") + std::strerror(errno) + "; stopping");
      break;
    }
    now_ = HubClock::now();
    for (int i = 0; i < n; ++i) {
      const std::uint64_t tag = events[static_cast<std::size_t>(i)].data.u64;
      const std::uint32_t flags = events[static_cast<std::size_t>(i)].events;
      if (tag == listener_tag) {
        if (listener_ && listener_->fd() >= 0) accept_ready();
        continue;
      }
      if (tag == inbox_tag) {
        process_inbox();
        continue;
      }
      const int fd = static_cast<int>(tag);
      Connection* c = find(fd);
      if (!c || c->state == ConnectionState::handed_off) continue;
      const std::uint64_t serial = c->serial;
      if (flags & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) on_readable(*c);
      c = find(fd);
      if (c && c->serial == serial && (flags & EPOLLOUT)) flush(*c);
    }
    if (now_ >= next_keepalive_) {
      send_keepalives();
      next_keepalive_ = now_ + options_.keepalive;
    }
    if (now_ >= next_housekeeping_) {
      housekeeping();
      next_housekeeping_ = now_ + housekeeping_interval;
    }
    flush_dirty(writes_per_turn);
    answer_publishers();
    if (accept_paused_ && now_ >= accept_paused_until_ && listener_ && listener_->fd() >= 0) {
      epoll_event lev{};
      lev.events = EPOLLIN;
      lev.data.u64 = listener_tag;
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listener_->fd(), &lev);
      accept_paused_ = false;
    }
    update_counters();
    if (stopping_) {
      if (!grace_over_ && now_ >= grace_deadline_) after_grace();
      if (open_connections_ == 0 || now_ >= hard_deadline_) break;
    }
  }

  accepting_ = false;
  answer_publishers(true);
  for (auto& command : inbox_.close()) {
    if (auto* publish = std::get_if<PublishCommand>(&command)) {
      PublishResult r;
      r.status = PublishStatus::not_running;
      r.message = "Server is shutting down";
      publish->reply->set_value(std::move(r));
    }
    // A connection given back now stays in the table; finish() closes it.
  }
  update_counters();
}

void StreamingLoop::finish() {
  for (auto& slot : connections_) {
    if (!slot) continue;
    if (slot->state == ConnectionState::streaming) end_subscription(*slot, CloseReason::server_stopped);
    if (slot) destroy(*slot);
  }
  if (listener_) listener_->close();
  update_counters();
}

int StreamingLoop::next_timeout_ms() const {
  auto due = std::min(next_keepalive_, next_housekeeping_);
  if (stopping_) due = std::min(due, grace_over_ ? hard_deadline_ : grace_deadline_);
  if (accept_paused_) due = std::min(due, accept_paused_until_);
  if (has_dirty()) return 0;
  auto left = std::chrono::ceil<std::chrono::milliseconds>(due - HubClock::now()).count();
  return static_cast<int>(std::clamp<long long>(left, 0, 60000));
}

void StreamingLoop::update_counters() {
  counters_.tokens.store(hub_.token_count(), std::memory_order_relaxed);
  counters_.subscribers.store(hub_.subscriber_count(), std::memory_order_relaxed);
  counters_.connections.store(open_connections_, std::memory_order_relaxed);
  counters_.events_published.store(published_, std::memory_order_relaxed);
  counters_.events_delivered.store(delivered_, std::memory_order_relaxed);
  counters_.slow_disconnects.store(slow_disconnects_, std::memory_order_relaxed);
}

// ---------------------------------------------------------------------------
// Connections

void StreamingLoop::accept_ready() {
  for (int i = 0; i < accept_burst; ++i) {
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
        counters_.refused_connections.fetch_add(1, std::memory_order_relaxed);
        if (!descriptors_exhausted_) {
          descriptors_exhausted_ = true;
          log_.info("out of file descriptors (limit " + descriptor_limit() +
                    "): refusing new connections with 503 until some close (raise `ulimit -n`)");
        }
        break;
      case AcceptStatus::stalled:
      case AcceptStatus::failed:
        if (error == ECONNABORTED || error == EPROTO) break; // that client is gone; others may wait
        log_.info(std::string("accept failed: ") + std::strerror(error) + "; pausing accepts for 100ms");
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listener_->fd(), nullptr);
        accept_paused_ = true;
        accept_paused_until_ = now_ + accept_pause;
        return;
    }
  }
}

Connection* StreamingLoop::add_connection(AcceptedSocket&& socket) {
  const auto index = static_cast<std::size_t>(socket.fd);
  if (index >= connections_.size()) connections_.resize(std::max(index + 1, connections_.size() * 2));
  auto c = std::make_unique<Connection>();
  c->io = std::make_unique<PlainSocketIo>(socket.fd);
  c->serial = next_serial_++;
  c->remote_ip = std::move(socket.ip);
  c->remote_port = socket.port;
  c->remote = (c->remote_ip.find(':') != std::string::npos ? "[" + c->remote_ip + "]" : c->remote_ip) + ":" +
              std::to_string(c->remote_port);
  c->started = now_;
  c->deadline = now_ + options_.request_timeout;

  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP;
  ev.data.u64 = static_cast<std::uint64_t>(socket.fd);
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, socket.fd, &ev) != 0) {
    log_.info(std::string("epoll_ctl: ") + std::strerror(errno) + "; dropping " + c->remote);
    return nullptr; // c's destructor closes the socket
  }
  c->in_epoll = true;
  if (log_.debugging()) log_.debug("accepted " + c->remote + " (fd " + std::to_string(socket.fd) + ")");
  connections_[index] = std::move(c);
  ++open_connections_;
  return connections_[index].get();
}

void StreamingLoop::destroy(Connection& c) {
  if (c.state == ConnectionState::streaming) hub_.unsubscribe(static_cast<SubscriberId>(c.fd()));
  if (c.subscriber_id != 0)
    log_access(c, 200,
               "stream " + format_duration(now_ - c.started) + ", " + std::to_string(c.events_written) + " events, " +
                   std::string(to_string(c.close_reason)));
  if (log_.debugging()) log_.debug("closed " + c.remote + " (fd " + std::to_string(c.fd()) + ")");
  const auto index = static_cast<std::size_t>(c.fd());
  // Closing the descriptor also removes it from the epoll set.
  connections_[index].reset();
  --open_connections_;
}

void StreamingLoop::update_events(Connection& c) {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP | (c.want_write ? EPOLLOUT : 0u);
  ev.data.u64 = static_cast<std::uint64_t>(c.fd());
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd(), &ev);
}

void StreamingLoop::on_readable(Connection& c) {
  switch (c.state) {
    case ConnectionState::reading_head:
      read_head(c);
      break;
    case ConnectionState::reading_body:
      read_body(c);
      break;
    case ConnectionState::streaming:
    case ConnectionState::closing:
      discard_input(c);
      break;
    case ConnectionState::handed_off:
      break;
  }
}

void StreamingLoop::read_head(Connection& c) {
  for (int i = 0; i < reads_per_turn && c.input.size() <= max_head_bytes; ++i) {
    IoResult r = c.io->read(scratch_.data(), scratch_.size());
    if (r.status == IoStatus::would_block) break;
    if (r.status != IoStatus::ok) {
      if (log_.debugging() && !c.input.empty())
        log_.debug(c.remote + " closed the connection in the middle of a request head");
      destroy(c);
      return;
    }
    c.input.append(scratch_.data(), r.bytes);
    if (r.bytes < scratch_.size()) break;
  }
  try_request(c);
}

void StreamingLoop::try_request(Connection& c) {
  if (c.input.empty()) return;
  http::RequestHead head;
  const http::ParsedHead parsed = http::parse_request_head(c.input, head);
  switch (parsed.status) {
    case http::HeadStatus::partial:
      if (c.input.size() > max_head_bytes) {
        c.request_line = "-";
        respond_and_close(c, 431, "Request head too large (limit " + std::to_string(max_head_bytes) + " bytes)");
        return;
      }
      // A kept-alive connection may idle long; a head once begun must finish soon.
      c.deadline = std::min(c.deadline, now_ + options_.request_timeout);
      return;
    case http::HeadStatus::malformed:
      c.request_line = "-";
      respond_and_close(c, 400, "Malformed request");
      return;
    case http::HeadStatus::complete:
      if (parsed.size > max_head_bytes) {
        c.request_line = "-";
        respond_and_close(c, 431, "Request head too large (limit " + std::to_string(max_head_bytes) + " bytes)");
        return;
      }
      handle_request(c, head, parsed.size);
      return;
  }
}

void StreamingLoop::handle_request(Connection& c, const http::RequestHead& head, std::size_t head_size) {
  c.request_line.assign(head.method);
  c.request_line += ' ';
  c.request_line += head.target;
  c.request_line += " HTTP/1.";
  c.request_line += static_cast<char>('0' + head.minor_version);
  c.started = now_;
  if (log_.debugging()) log_.debug(c.remote + " \"" + c.request_line + "\"");

  if (head.method == "GET") {
    if (auto target = http::split_target(head.target)) {
      if (auto segments = http::two_segments(target->path); segments && segments->first == options_.listen_action) {
        subscribe(c, head, segments->second, target->query);
        return;
      }
    }
    receive_body(c, head, head_size);
    return;
  }
  if (head.method == "POST" || head.method == "OPTIONS") {
    receive_body(c, head, head_size);
    return;
  }
  std::string allow = "Allow: GET, POST, OPTIONS\r\n";
  if (auto origin = cors_.allow_origin(head.field("Origin")); !origin.empty())
    allow += "Access-Control-Allow-Origin: " + std::string(origin) + "\r\n";
  respond_and_close(c, 405, "Method not allowed", allow);
}

// A request for a worker is read whole, body included, before it is handed
// off: a worker that read the body itself would be held by a slow (or
// stalled) uploader, and a few of them would stop all publishing.
void StreamingLoop::receive_body(Connection& c, const http::RequestHead& head, std::size_t head_size) {
  const std::size_t codings = head.count("Transfer-Encoding");
  const std::size_t lengths = head.count("Content-Length");
  const bool chunked = codings > 0;
  std::size_t length = 0;
  if (chunked) {
    // RFC 9112, 6.1: a coding we cannot decode is 501 (cpp-httplib decodes chunked only).
    if (codings > 1 || !http::equals_ignoring_case(*head.field("Transfer-Encoding"), "chunked")) {
      respond_and_close(c, 501, "Transfer-Encoding not supported (only chunked)");
      return;
    }
  } else if (lengths > 1) {
    respond_and_close(c, 400, "Malformed request: more than one Content-Length");
    return;
  } else if (lengths == 1) {
    auto parsed = parse_content_length(*head.field("Content-Length"));
    if (!parsed) {
      respond_and_close(c, 400, "Malformed request: Content-Length is not a number");
      return;
    }
    // Refused before a byte of the body is read (a client that sent
    // Expect: 100-continue never sends it).
    if (*parsed > options_.max_body) {
      respond_and_close(c, 413, body_too_large(options_.max_body));
      return;
    }
    length = *parsed;
  }
  // RFC 9110, 10.1.1 (an HTTP/1.0 client's expectation is ignored).
  const auto expect = head.field("Expect");
  const bool expects_continue =
      head.minor_version >= 1 && expect && http::equals_ignoring_case(*expect, "100-continue");

  // cpp-httplib gets the head in canonical form: CRLF line ends (it skips
  // bare-LF lines), no leading blank lines, and an explicit empty length
  // (RFC 9112, 6.3: a POST with neither length nor chunking has an empty
  // body; cpp-httplib would read it until the connection closes). The loop
  // answers the expectation itself, so the worker does not see it.
  std::string canonical;
  canonical.reserve(head_size + 32 + (c.input.size() - head_size));
  canonical.append(head.method).append(" ").append(head.target).append(" HTTP/1.");
  canonical += static_cast<char>('0' + head.minor_version);
  canonical += "\r\n";
  for (const auto& f : head.fields) {
    if (expects_continue && http::equals_ignoring_case(f.name, "Expect")) continue;
    canonical.append(f.name).append(": ").append(f.value).append("\r\n");
  }
  if (head.method == "POST" && !chunked && lengths == 0) canonical += "Content-Length: 0\r\n";
  canonical += "\r\n";
  const std::size_t body_start = canonical.size();
  canonical.append(c.input, head_size, std::string::npos);
  c.input = std::move(canonical);

  c.state = ConnectionState::reading_body;
  c.body_start = body_start;
  c.body_length = length;
  c.chunked = chunked;
  c.chunks = http::ChunkedScanner{};
  // The body shares the head's deadline (a kept-alive connection's may still be the idle one).
  c.deadline = std::min(c.deadline, now_ + options_.request_timeout);
  if (!try_body(c) || !expects_continue) return;

  // The client waits for this before it sends the body. Written directly:
  // the loop queues nothing for a connection reading a request, so the
  // kernel's buffer takes these few bytes unless the client left earlier
  // responses unread by the megabyte.
  static constexpr std::string_view continue_response = "HTTP/1.1 100 Continue\r\n\r\n";
  iovec piece{const_cast<char*>(continue_response.data()), continue_response.size()};
  IoResult r = c.io->write(std::span<const iovec>(&piece, 1));
  if (r.status != IoStatus::ok || r.bytes != continue_response.size()) {
    if (log_.debugging()) log_.debug(c.remote + " could not be sent 100 Continue: closing");
    destroy(c);
  }
}

void StreamingLoop::read_body(Connection& c) {
  for (int i = 0; i < reads_per_turn; ++i) {
    IoResult r = c.io->read(scratch_.data(), scratch_.size());
    if (r.status == IoStatus::would_block) return;
    if (r.status != IoStatus::ok) {
      if (log_.debugging()) log_.debug(c.remote + " closed the connection in the middle of a request body");
      destroy(c);
      return;
    }
    c.input.append(scratch_.data(), r.bytes);
    if (!try_body(c)) return;
  }
}

// True while the body is incomplete; otherwise the request has been handed
// off or refused.
bool StreamingLoop::try_body(Connection& c) {
  const std::size_t received = c.input.size() - c.body_start;
  if (!c.chunked) {
    if (received < c.body_length) return true;
    hand_off(c);
    return false;
  }
  const auto scanned = static_cast<std::size_t>(c.chunks.scanned());
  const http::ChunkedStatus status = c.chunks.feed(std::string_view(c.input).substr(c.body_start + scanned));
  if (c.chunks.data_bytes() > options_.max_body || (status == http::ChunkedStatus::partial &&
                                                    received > chunked_bytes_limit(options_))) {
    respond_and_close(c, 413, body_too_large(options_.max_body));
    return false;
  }
  switch (status) {
    case http::ChunkedStatus::partial:
      return true;
    case http::ChunkedStatus::malformed:
      respond_and_close(c, 400, "Malformed request: bad chunked framing");
      return false;
    case http::ChunkedStatus::complete:
      hand_off(c);
      return false;
  }
  return false;
}

void StreamingLoop::hand_off(Connection& c) {
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.fd(), nullptr);
  c.in_epoll = false;
  c.want_write = false;
  c.state = ConnectionState::handed_off;
  ++handed_off_;
  handoff_(c);
}

void StreamingLoop::give_back(Connection& connection, bool keep_alive) {
  // If the loop has already ended, the connection stays in the table and finish() closes it.
  [[maybe_unused]] bool taken = inbox_.push(ReturnConnection{&connection, keep_alive});
}

void StreamingLoop::respond_and_close(Connection& c, int status, std::string_view message,
                                      std::string_view extra_headers) {
  auto bytes = std::make_shared<const std::string>(plain_response(status, message, extra_headers));
  log_access(c, status, std::to_string(bytes->size()) + " " + format_duration(now_ - c.started));
  c.input.clear();
  c.output.clear();
  c.output.push(std::move(bytes), false);
  c.linger = true;
  start_closing(c);
}

void StreamingLoop::discard_input(Connection& c) {
  for (int i = 0; i < reads_per_turn; ++i) {
    IoResult r = c.io->read(scratch_.data(), scratch_.size());
    if (r.status == IoStatus::would_block) return;
    if (r.status == IoStatus::ok) continue;
    if (c.state == ConnectionState::streaming)
      end_subscription(c, CloseReason::client_closed);
    else
      destroy(c);
    return;
  }
}

// ---------------------------------------------------------------------------
// Subscribers

void StreamingLoop::subscribe(Connection& c, const http::RequestHead& head, std::string_view encoded_token,
                              std::string_view query) {
  auto token = http::percent_decode(encoded_token);
  if (!token) {
    respond_and_close(c, 400, "Malformed request: bad percent-encoding in the token");
    return;
  }
  if (token->find('/') != std::string::npos) {
    respond_and_close(c, 404, "Not found");
    return;
  }
  std::string last_id;
  if (auto header = head.field("Last-Event-ID"))
    last_id.assign(*header);
  else if (auto param = http::query_parameter(query, "lastEventId"))
    last_id = std::move(*param);

  const std::string_view origin = cors_.allow_origin(head.field("Origin"));
  const std::string cors_header = origin.empty() ? std::string() : "Access-Control-Allow-Origin: " + std::string(origin) + "\r\n";

  if (hooks_.check_connection) {
    std::vector<RequestHeader> headers;
    headers.reserve(head.fields.size());
    for (const auto& f : head.fields) headers.push_back({f.name, f.value});
    SubscriberInfo info;
    info.id = c.serial;
    info.token = *token;
    info.remote = c.remote;
    info.last_event_id = last_id;
    info.headers = headers;
    std::optional<Refusal> refusal;
    try {
      refusal = hooks_.check_connection(info);
    } catch (const std::exception& e) {
      log_.info(std::string("check_connection hook threw: ") + e.what());
      refusal = Refusal{500, "Internal server error"};
    }
    if (refusal) {
      // Only an error status makes sense for a refusal (a 2xx would look like a stream).
      int status = refusal->status >= 400 && refusal->status <= 599 ? refusal->status : 403;
      respond_and_close(c, status, refusal->message, cors_header);
      return;
    }
  }
  if (options_.exclusive && hub_.subscriber_count(*token) > 0) {
    respond_and_close(c, 423, "Token is already in use", cors_header);
    return;
  }
  if (options_.max_subscribers > 0 && hub_.subscriber_count() >= options_.max_subscribers) {
    respond_and_close(c, 503, "Too many subscribers", cors_header);
    return;
  }

  // Built before the input is released: `origin` and `head` are views into it.
  SharedBytes stream_head =
      origin.empty() ? plain_stream_head_ : std::make_shared<const std::string>(transport_.open_stream(origin));
  c.state = ConnectionState::streaming;
  c.token = std::move(*token);
  c.subscriber_id = c.serial;
  c.started = now_;
  std::string().swap(c.input);
  hub_.subscribe(static_cast<SubscriberId>(c.fd()), c.token);

  enqueue(c, stream_head, false);
  if (!last_id.empty()) {
    Replay replay = store_.events_after(c.token, last_id, now_);
    if (replay.gap) {
      // In-band notice that events may have been missed, instead of a silent gap.
      Event gap;
      gap.name = "gap";
      gap.data = last_id;
      if (auto bytes = transport_.encode(gap)) enqueue(c, *bytes, true);
    }
    for (auto& bytes : replay.events) enqueue(c, bytes, true);
  } else if (options_.latest) {
    if (const StoredEvent* latest = store_.latest(c.token, now_)) enqueue(c, latest->bytes, true);
  }
  if (log_.debugging())
    log_.debug(c.remote + " subscribed to \"" + c.token + "\"" +
               (last_id.empty() ? std::string() : " after id \"" + last_id + "\""));
  if (hooks_.on_open) {
    try {
      hooks_.on_open(info_of(c));
    } catch (const std::exception& e) {
      log_.info(std::string("on_open hook threw: ") + e.what());
    }
  }
}

SubscriberInfo StreamingLoop::info_of(const Connection& c) const {
  SubscriberInfo info;
  info.id = c.subscriber_id;
  info.token = c.token;
  info.remote = c.remote;
  return info;
}

void StreamingLoop::end_subscription(Connection& c, CloseReason reason) {
  if (c.state != ConnectionState::streaming) return;
  hub_.unsubscribe(static_cast<SubscriberId>(c.fd()));
  c.state = ConnectionState::closing;
  if (reason == CloseReason::slow_consumer) {
    ++slow_disconnects_;
    log_.info(c.remote + " on \"" + c.token + "\" cut off: " + std::to_string(c.output.unsent_bytes()) +
              " bytes unsent (limit " + std::to_string(options_.max_queue) + "); it may resume with Last-Event-ID");
  }
  c.close_reason = reason;
  if (hooks_.on_close) {
    try {
      hooks_.on_close(info_of(c), reason);
    } catch (const std::exception& e) {
      log_.info(std::string("on_close hook threw: ") + e.what());
    }
  }
  switch (reason) {
    case CloseReason::client_closed:
    case CloseReason::write_failed:
    case CloseReason::slow_consumer:
      destroy(c);
      return;
    case CloseReason::token_closed:
    case CloseReason::server_stopped:
      start_closing(c);
      return;
  }
}

void StreamingLoop::start_closing(Connection& c) {
  c.state = ConnectionState::closing;
  c.deadline = now_ + linger_time;
  if (stopping_) c.deadline = std::min(c.deadline, grace_deadline_);
  mark_dirty(c);
}

void StreamingLoop::enqueue(Connection& c, const SharedBytes& bytes, bool is_event) {
  c.output.push(bytes, is_event);
  if (!c.want_write)
    mark_dirty(c);
  else if (c.state == ConnectionState::streaming && c.output.unsent_bytes() > options_.max_queue)
    slow_.emplace_back(c.fd(), c.serial);
}

void StreamingLoop::mark_dirty(Connection& c) {
  if (c.dirty) return;
  c.dirty = true;
  dirty_.emplace_back(c.fd(), c.serial);
  ++marks_made_;
}

void StreamingLoop::flush_dirty(std::size_t budget) {
  // Oldest marked first. A queue marked again while it waits keeps its
  // place; one written and then given more goes to the back.
  while (budget > 0 && has_dirty()) {
    const auto [fd, serial] = dirty_[dirty_head_++];
    ++marks_written_;
    Connection* c = find(fd);
    if (!c || c->serial != serial) continue;
    --budget;
    c->dirty = false;
    if (!c->want_write) flush(*c); // hooks called from here may publish: more marks
  }
  if (!has_dirty()) {
    dirty_.clear();
    dirty_head_ = 0;
  } else if (dirty_head_ >= 4096 && dirty_head_ * 2 >= dirty_.size()) {
    dirty_.erase(dirty_.begin(), dirty_.begin() + static_cast<std::ptrdiff_t>(dirty_head_));
    dirty_head_ = 0;
  }
  cut_off_slow();
}

void StreamingLoop::flush(Connection& c) {
  if (c.state != ConnectionState::streaming && c.state != ConnectionState::closing) return;
  std::array<iovec, iovecs_per_write> pieces;
  bool blocked = false;
  while (!c.output.empty()) {
    const std::size_t n = c.output.gather(pieces);
    std::size_t total = 0;
    for (std::size_t i = 0; i < n; ++i) total += pieces[i].iov_len;
    IoResult r = c.io->write(std::span<const iovec>(pieces.data(), n));
    if (r.status == IoStatus::ok) {
      const std::size_t events = c.output.consume(r.bytes);
      c.events_written += events;
      delivered_ += events;
      if (r.bytes < total) {
        blocked = true; // the kernel's buffer is full: wait for EPOLLOUT rather than try again
        break;
      }
      continue;
    }
    if (r.status == IoStatus::would_block) {
      blocked = true;
      break;
    }
    if (c.state == ConnectionState::streaming)
      end_subscription(c, CloseReason::write_failed);
    else
      destroy(c);
    return;
  }
  if (blocked) {
    if (!c.want_write) {
      c.want_write = true;
      update_events(c);
    }
    if (c.state == ConnectionState::streaming && c.output.unsent_bytes() > options_.max_queue)
      end_subscription(c, CloseReason::slow_consumer);
    return;
  }
  if (c.want_write) {
    c.want_write = false;
    update_events(c);
  }
  if (c.state == ConnectionState::closing && !c.write_shut) {
    if (!c.linger) {
      // A stream's end: the kernel has every byte and sends them before the FIN.
      destroy(c);
      return;
    }
    // A response to a request whose body may still be arriving: send FIN,
    // then read until the peer's, so that unread bytes do not turn our close
    // into a reset that destroys the response in flight (RFC 9112, 9.6).
    c.io->shutdown_write();
    c.write_shut = true;
  }
}

void StreamingLoop::cut_off_slow() {
  while (!slow_.empty()) {
    auto list = std::move(slow_);
    slow_.clear();
    for (auto [fd, serial] : list) {
      Connection* c = find(fd);
      if (c && c->serial == serial && c->state == ConnectionState::streaming)
        end_subscription(*c, CloseReason::slow_consumer);
    }
  }
}

// ---------------------------------------------------------------------------
// Commands and timers

void StreamingLoop::process_inbox() {
  inbox_.take(commands_);
  for (auto& command : commands_) {
    if (auto* publish = std::get_if<PublishCommand>(&command)) {
      // The publisher hears back once everything queued before its event
      // has been written out (its own event is written in the same pass for
      // the queues not yet reached). So it may run one fan-out ahead of
      // delivery, which keeps a fan-out's writes carrying several events,
      // but never further: a publisher faster than the subscribers is held
      // back instead of growing every queue (docs/architecture.md).
      const std::uint64_t ahead = marks_made_;
      PublishResult result = publish_now(publish->token, std::move(publish->event), publish->close_after);
      if (marks_written_ >= ahead)
        publish->reply->set_value(std::move(result));
      else
        waiting_publishers_.push_back({ahead, publish->reply, std::move(result)});
    } else if (auto* back = std::get_if<ReturnConnection>(&command)) {
      Connection& c = *back->connection;
      --handed_off_;
      if (stopping_ || !back->keep_alive) {
        destroy(c);
        continue;
      }
      c.state = ConnectionState::reading_head;
      c.request_line.clear();
      c.deadline = now_ + options_.idle_timeout;
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLRDHUP;
      ev.data.u64 = static_cast<std::uint64_t>(c.fd());
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c.fd(), &ev);
      c.in_epoll = true;
      try_request(c); // a pipelined request may already be here
    } else {
      begin_stop();
    }
  }
  commands_.clear();
}

void StreamingLoop::answer_publishers(bool all) {
  std::size_t answered = 0;
  for (auto& w : waiting_publishers_) {
    if (!all && marks_written_ < w.after_marks) break; // in order of `after_marks`
    w.reply->set_value(std::move(w.result));
    ++answered;
  }
  waiting_publishers_.erase(waiting_publishers_.begin(),
                            waiting_publishers_.begin() + static_cast<std::ptrdiff_t>(answered));
}

PublishResult StreamingLoop::publish(std::string token, Event event, bool close_after) {
  if (on_loop_thread()) return publish_now(token, std::move(event), close_after);
  std::promise<PublishResult> reply;
  auto result = reply.get_future();
  if (!inbox_.push(PublishCommand{std::move(token), std::move(event), close_after, &reply})) {
    PublishResult r;
    r.status = PublishStatus::not_running;
    r.message = "Server is not running";
    return r;
  }
  return result.get();
}

PublishResult StreamingLoop::publish_now(const std::string& token, Event event, bool close_after) {
  PublishResult result;
  if (stopping_) {
    result.status = PublishStatus::not_running;
    result.message = "Server is shutting down";
    return result;
  }
  if (hub_.subscriber_count(token) == 0 && !store_.keeps_history()) {
    result.status = PublishStatus::not_connected;
    result.message = "Target is not connected";
    return result;
  }
  // Ids are taken here, on the loop thread, in the order events are
  // delivered: concurrent publishers to one token never see ids reordered.
  if (store_.assigns_ids()) event.id = store_.next_id(token);
  auto bytes = transport_.encode(event);
  if (!bytes) {
    result.status = PublishStatus::bad_data;
    result.message = "Data is not properly formatted: " + bytes.error();
    return result;
  }
  ++published_;
  counters_.events_published.store(published_, std::memory_order_relaxed); // before the publisher hears back
  store_.record(token, StoredEvent{event.id, *bytes, now_});

  const auto& subscribers = hub_.subscribers(token);
  result.id = event.id;
  result.subscribers = subscribers.size();
  result.stored = subscribers.empty();
  for (SubscriberId s : subscribers)
    if (Connection* c = find(static_cast<int>(s))) enqueue(*c, *bytes, true);
  cut_off_slow();

  if (close_after) {
    const std::vector<SubscriberId> ending = hub_.subscribers(token);
    for (SubscriberId s : ending)
      if (Connection* c = find(static_cast<int>(s)); c && c->state == ConnectionState::streaming)
        end_subscription(*c, CloseReason::token_closed);
  }
  return result;
}

void StreamingLoop::send_keepalives() {
  if (hub_.subscriber_count() == 0) return;
  const auto unix_time = std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  // One buffer for every stream this tick.
  const SharedBytes bytes = transport_.keepalive("keepalive " + std::to_string(unix_time));
  for (auto& slot : connections_)
    if (slot && slot->state == ConnectionState::streaming) enqueue(*slot, bytes, false);
  cut_off_slow();
}

void StreamingLoop::housekeeping() {
  store_.expire(now_);
  for (auto& slot : connections_) {
    if (!slot || now_ < slot->deadline) continue;
    Connection& c = *slot;
    if (c.state == ConnectionState::reading_head) {
      if (c.input.empty()) {
        if (log_.debugging()) log_.debug(c.remote + " idle: closing");
        destroy(c);
      } else {
        c.request_line = "-";
        respond_and_close(c, 408, "Request head not received in time");
      }
    } else if (c.state == ConnectionState::reading_body) {
      respond_and_close(c, 408, "Request body not received in time");
    } else if (c.state == ConnectionState::closing) {
      destroy(c);
    }
  }
}

void StreamingLoop::request_stop() { [[maybe_unused]] bool taken = inbox_.push(StopCommand{}); }

void StreamingLoop::begin_stop() {
  if (stopping_) return;
  stopping_ = true;
  grace_deadline_ = now_ + options_.shutdown_grace;
  hard_deadline_ = grace_deadline_ + hard_stop_margin;
  if (listener_) listener_->close(); // also leaves the epoll set
  accepting_ = false;
  log_.info("stopping: " + std::to_string(hub_.subscriber_count()) + " streams to end");
  for (auto& slot : connections_) {
    if (!slot) continue;
    Connection& c = *slot;
    switch (c.state) {
      case ConnectionState::reading_head:
      case ConnectionState::reading_body:
        destroy(c);
        break;
      case ConnectionState::streaming:
        end_subscription(c, CloseReason::server_stopped);
        break;
      case ConnectionState::closing:
        if (c.write_shut)
          destroy(c); // its response is out; no need to wait for the peer's FIN now
        else
          c.deadline = std::min(c.deadline, grace_deadline_);
        break;
      case ConnectionState::handed_off:
        break; // closed when given back
    }
  }
}

void StreamingLoop::after_grace() {
  grace_over_ = true;
  for (auto& slot : connections_) {
    if (!slot) continue;
    if (slot->state == ConnectionState::handed_off)
      slot->io->abort(); // wakes its worker; the connection comes back and is closed
    else
      destroy(*slot);
  }
}

void StreamingLoop::log_access(const Connection& c, int status, std::string_view detail) const {
  std::string line = c.remote;
  line += " \"";
  line += c.request_line.empty() ? std::string_view("-") : std::string_view(c.request_line);
  line += "\" ";
  line += std::to_string(status);
  line += ' ';
  line += detail;
  log_.info(line);
}

}  // namespace es
