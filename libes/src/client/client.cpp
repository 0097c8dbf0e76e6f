// SPDX-License-Identifier: GPL-3.0-or-later
#include <es/client.hpp>

#include "client/sockets.hpp"
#include "client/stream.hpp"

#include <es/url.hpp>

#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>

namespace es {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

namespace {

// A stream that ends sooner than this without an event counts as a failed
// attempt, so ReconnectPolicy's backoff and failure floor apply: a server that
// answers 200 (perhaps with `retry: 0`) and drops every connection at once is
// not hammered.
constexpr milliseconds kShortestUsefulStream{1000};

Url checked_url(const ClientOptions& options) {
  Result<Url> url = parse_url(options.url);
  if (!url) throw std::invalid_argument("es::Client: " + url.error());
  const std::string& id = options.last_event_id;
  if (id.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos)
    throw std::invalid_argument("es::Client: last_event_id must not hold CR, LF or NUL");
  return std::move(url).value();
}

}  // namespace

struct Client::Impl {
  Impl(ClientOptions o, Handlers h) : options(std::move(o)), handlers(std::move(h)), url(checked_url(options)) {}

  ClientOptions options;
  Handlers handlers;
  Url url;
  client_detail::SocketRegistry sockets;

  mutable std::mutex mu;
  std::condition_variable cv;  // stop_requested or finished changed
  bool stop_requested = false;
  std::atomic<bool> stop_flag{false};  // stop_requested, readable without the lock (checked per event)
  bool started = false;
  bool finished = false;
  std::optional<ClientError> outcome;
  std::exception_ptr failure;
  std::string last_event_id;  // a copy for last_event_id(), under mu
  std::thread thread;

  std::exception_ptr handler_failure;  // loop thread only

  void claim_run() {
    std::lock_guard lock(mu);
    if (started) throw std::logic_error("es::Client: run() or start() was called already");
    started = true;
  }

  void finish(std::optional<ClientError> result, std::exception_ptr error) {
    std::lock_guard lock(mu);
    outcome = std::move(result);
    failure = std::move(error);
    finished = true;
    cv.notify_all();
  }

  void request_stop() noexcept {
    {
      std::lock_guard lock(mu);
      stop_requested = true;
      stop_flag = true;
    }
    cv.notify_all();
    sockets.shut_down();
  }

  bool stopping() const noexcept { return stop_flag.load(std::memory_order_relaxed); }

  // Handlers run inside httplib's callbacks: an exception must not unwind
  // through httplib. It is kept, the run stops, and run() rethrows it.
  template <class Handler, class... Args>
  void call(const Handler& handler, Args&&... args) {
    if (!handler || handler_failure) return;
    try {
      handler(std::forward<Args>(args)...);
    } catch (...) {
      handler_failure = std::current_exception();
      request_stop();
    }
  }

  void debug(const std::string& message) { call(handlers.on_debug, std::string_view(message)); }

  void publish_last_event_id(const std::string& id) {
    std::lock_guard lock(mu);
    if (last_event_id != id) last_event_id = id;
  }

  // Waits `delay`, or less if stopped. False when stopped.
  bool wait_to_reconnect(milliseconds delay) {
    std::unique_lock lock(mu);
    return !cv.wait_for(lock, delay, [&] { return stop_requested; });
  }

  std::optional<ClientError> loop();
};

std::optional<ClientError> Client::Impl::loop() {
  // Debian's cpp-httplib writes without MSG_NOSIGNAL.
  const client_detail::SigpipeBlock no_sigpipe;

  std::optional<milliseconds> server_retry;   // WHATWG "reconnection time", once the server set it
  std::optional<milliseconds> pending_retry;  // a retry: not yet attached to an event
  bool event_seen = false;
  Parser parser(
      Parser::Handlers{
          .on_event =
              [&](const Event& e) {
                event_seen = true;
                // No event after stop(), even from the bytes already read.
                if (stopping()) return;
                if (!pending_retry) {
                  call(handlers.on_event, e);
                  return;
                }
                Event with_retry = e;
                with_retry.retry = std::exchange(pending_retry, std::nullopt);
                call(handlers.on_event, with_retry);
              },
          .on_retry =
              [&](milliseconds ms) {
                server_retry = ms;
                pending_retry = ms;
              },
          .on_comment = [&](std::string_view text) { call(handlers.on_comment, text); },
      },
      options.limits);
  if (!options.last_event_id.empty()) {
    // The id a resumed stream starts from, given to the parser as if an
    // earlier stream had sent it: from here on the parser's WHATWG rules
    // decide the Last-Event-ID, as for any id.
    (void)parser.feed("id: " + options.last_event_id + "\n\n");
    parser.end_of_stream();
  }
  publish_last_event_id(parser.last_event_id());

  unsigned failures = 0;  // attempts in a row that did not reach a useful stream
  unsigned opened = 0;
  for (;;) {
    if (stopping()) break;
    const std::string sent_id = parser.last_event_id();
    debug("connecting to " + url.str() + (sent_id.empty() ? "" : " with Last-Event-ID: " + sent_id));

    ParseError parse_error = ParseError::none;
    event_seen = false;
    Clock::time_point opened_at{};
    client_detail::StreamHooks hooks;
    hooks.on_open = [&] {
      opened_at = Clock::now();
      debug("stream open");
      call(handlers.on_open, OpenInfo{sent_id, opened});
    };
    hooks.on_redirect = [&](const std::string& to) { debug("redirected to " + to); };
    hooks.on_bytes = [&](std::string_view bytes) {
      parse_error = parser.feed(bytes);
      publish_last_event_id(parser.last_event_id());
      return parse_error == ParseError::none && !stopping();
    };
    client_detail::StreamOutcome attempt = client_detail::stream_once(url, options, sent_id, sockets, hooks);
    sockets.release_all();

    std::optional<ClientError> error = std::move(attempt.error);
    if (attempt.opened) {
      ++opened;
      parser.end_of_stream();
      publish_last_event_id(parser.last_event_id());
      debug("stream closed");
      call(handlers.on_close);
      if (parse_error != ParseError::none) {
        error = ClientError{};
        error->kind = FailureKind::too_large;
        error->message = "the stream from " + url.authority() + " sent a " + describe(parse_error, options.limits) +
                         "; dropped the connection";
      }
    }
    if (handler_failure) std::rethrow_exception(handler_failure);
    if (stopping()) break;

    const bool useful = attempt.opened && (event_seen || Clock::now() - opened_at >= kShortestUsefulStream);
    failures = useful ? 0 : failures + 1;
    if (error && is_fatal(error->kind) && !options.keep_going) {
      error->will_retry = false;
      call(handlers.on_error, *error);
      if (handler_failure) std::rethrow_exception(handler_failure);
      return error;
    }
    const milliseconds delay = reconnect_delay(options.reconnect, server_retry, failures);
    if (error) {
      error->will_retry = true;
      error->retry_in = delay;
      call(handlers.on_error, *error);
      if (handler_failure) std::rethrow_exception(handler_failure);
    }
    debug("reconnecting in " + std::to_string(delay.count()) + " ms");
    if (!wait_to_reconnect(delay)) break;
  }
  if (handler_failure) std::rethrow_exception(handler_failure);
  return std::nullopt;
}

Client::Client(ClientOptions options, Handlers handlers)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handlers))) {}

Client::~Client() {
  stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::optional<ClientError> Client::run() {
  impl_->claim_run();
  std::optional<ClientError> result;
  try {
    result = impl_->loop();
  } catch (...) {
    impl_->finish(std::nullopt, std::current_exception());
    throw;
  }
  impl_->finish(result, nullptr);
  return result;
}

void Client::start() {
  impl_->claim_run();
  impl_->thread = std::thread([impl = impl_.get()] {
    try {
      impl->finish(impl->loop(), nullptr);
    } catch (...) {
      impl->finish(std::nullopt, std::current_exception());
    }
  });
}

std::optional<ClientError> Client::wait() {
  if (impl_->thread.joinable()) impl_->thread.join();
  std::lock_guard lock(impl_->mu);
  if (!impl_->finished) throw std::logic_error("es::Client: wait() without start()");
  if (impl_->failure) std::rethrow_exception(impl_->failure);
  return impl_->outcome;
}

bool Client::wait_for(std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->mu);
  return impl_->cv.wait_for(lock, timeout, [&] { return impl_->finished; });
}

void Client::stop() noexcept { impl_->request_stop(); }

std::string Client::last_event_id() const {
  std::lock_guard lock(impl_->mu);
  return impl_->last_event_id;
}

}  // namespace es
