// SPDX-License-Identifier: GPL-3.0-or-later
#include "subscribe.hpp"

#include "server_trust.hpp"

#include <es/event_format.hpp>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <exception>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

#include <pthread.h>
#include <signal.h>

namespace es::apps {
namespace {

using Clock = std::chrono::steady_clock;

// The client's thread tells the main thread it has finished with this
// signal; the main thread waits for it, SIGINT, SIGTERM and the deadline in
// one sigtimedwait, so nothing polls.
constexpr int kFinished = SIGUSR1;

void say(const std::string& text) {
  const std::string line = "eventsource-client: " + text + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
}

std::string format(OutputMode mode, const Event& e) {
  switch (mode) {
    case OutputMode::json: return format_json_line(e);
    case OutputMode::data_only: return format_data_line(e);
    case OutputMode::people: break;
  }
  return format_for_people(e);
}

// Reports each kind of failure once until a stream opens again, so a server
// that stays down gives one line, not one per attempt.
class FailureReporter {
 public:
  FailureReporter(bool every_time, bool hint_server) : every_time_(every_time), hint_server_(hint_server) {}

  void connected() { reported_.clear(); }

  void failure(const ClientError& e) {
    if (!first_time(std::string(name_of(e.kind)))) return;
    std::string text = e.message;
    if (e.kind == FailureKind::refused && hint_server_) text += " (is eventsource-server running?)";
    text += trust_hint(e);
    if (e.will_retry) {
      text += every_time_ ? "; retrying in " + std::to_string(e.retry_in.count()) + " ms" : "; retrying";
      if (is_fatal(e.kind)) text += " (-k)";
    }
    say(text);
  }

  void server_closed() {
    if (first_time("closed")) say("the server closed the stream; reconnecting");
  }

 private:
  bool first_time(const std::string& kind) { return every_time_ || reported_.insert(kind).second; }

  bool every_time_;
  bool hint_server_;
  std::set<std::string> reported_;
};

std::string duration_text(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + " s";
  return std::to_string(d.count()) + " ms";
}

enum class Waited { finished, timed_out, interrupted };

struct WaitResult {
  Waited how = Waited::finished;
  int signal = 0;
};

// Waits for kFinished, SIGINT/SIGTERM or the deadline.
WaitResult wait_for_end(const sigset_t& signals, std::optional<Clock::time_point> deadline) {
  for (;;) {
    timespec left{};
    if (deadline) {
      const auto remaining = std::chrono::duration_cast<std::chrono::nanoseconds>(*deadline - Clock::now());
      if (remaining.count() <= 0) return {Waited::timed_out, 0};
      left.tv_sec = static_cast<time_t>(remaining.count() / 1000000000);
      left.tv_nsec = static_cast<long>(remaining.count() % 1000000000);
    }
    const int sig = sigtimedwait(&signals, nullptr, deadline ? &left : nullptr);
    if (sig == kFinished) return {Waited::finished, 0};
    if (sig == SIGINT || sig == SIGTERM) return {Waited::interrupted, sig};
    if (sig < 0 && errno == EAGAIN) return {Waited::timed_out, 0};
  }
}

}  // namespace

int subscribe(const SubscribeSettings& settings) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, kFinished);
  // Blocked before the client's thread exists, so it inherits the mask and
  // every one of these signals waits for the main thread's sigtimedwait.
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  const std::optional<Clock::time_point> deadline =
      settings.timeout ? std::optional(Clock::now() + *settings.timeout) : std::nullopt;

  // Touched only by the client's thread until it has been joined.
  std::uint64_t received = 0;
  bool close_event = false;
  bool output_failed = false;
  FailureReporter reporter(settings.debug, settings.hint_server);
  Client* self = nullptr;
  // Set by the main thread before it stops the client (deadline, SIGINT,
  // SIGTERM): the stream that then ends was ended by us, not by the server.
  std::atomic<bool> we_stopped{false};

  Client::Handlers handlers;
  handlers.on_event = [&](const Event& e) {
    const std::string text = format(settings.output, e);
    if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0) {
      output_failed = true;
      self->stop();
      return;
    }
    ++received;
    // The close action of eventsource-server ends with this event.
    if (e.type() == "close") close_event = true;
    if (close_event || (settings.count != 0 && received >= settings.count)) self->stop();
  };
  handlers.on_open = [&](const OpenInfo&) { reporter.connected(); };
  handlers.on_error = [&](const ClientError& e) { reporter.failure(e); };
  handlers.on_close = [&] {
    if (!close_event && !output_failed && !we_stopped.load() && (settings.count == 0 || received < settings.count))
      reporter.server_closed();
  };
  if (settings.debug) {
    handlers.on_debug = [](std::string_view text) { say("debug: " + std::string(text)); };
    handlers.on_comment = [](std::string_view text) { say("debug: comment:" + std::string(text)); };
  }

  std::optional<Client> client;
  try {
    client.emplace(settings.client, std::move(handlers));
  } catch (const std::invalid_argument& e) {
    std::string message = e.what();
    if (message.rfind("es::Client: ", 0) == 0) message.erase(0, 12);
    say(message);
    return client_exit::usage;
  }
  self = &*client;

  std::optional<ClientError> fatal;
  std::exception_ptr crash;
  const pthread_t main_thread = pthread_self();
  std::thread runner([&] {
    try {
      fatal = client->run();
    } catch (...) {
      crash = std::current_exception();
    }
    pthread_kill(main_thread, kFinished);
  });

  WaitResult waited = wait_for_end(signals, deadline);
  if (waited.how != Waited::finished) {
    we_stopped = true;
    client->stop();
    // The run ends promptly after stop(); its end signal is still pending.
    sigset_t finished;
    sigemptyset(&finished);
    sigaddset(&finished, kFinished);
    int sig = 0;
    sigwait(&finished, &sig);
  }
  runner.join();
  if (crash) std::rethrow_exception(crash);

  if (close_event || (settings.count != 0 && received >= settings.count)) return client_exit::ok;
  if (output_failed) return client_exit::output_closed;
  if (fatal) return client_exit::refused;
  if (waited.how == Waited::interrupted) return 128 + waited.signal;
  if (waited.how == Waited::timed_out) {
    say("timed out after " + duration_text(*settings.timeout) + " (" + std::to_string(received) +
        (received == 1 ? " event" : " events") + " received)");
    return client_exit::timeout;
  }
  return client_exit::ok;
}

}  // namespace es::apps
