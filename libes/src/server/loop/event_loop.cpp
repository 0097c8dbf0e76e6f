// SPDX-License-Identifier: GPL-3.0-or-later
// The loop's turns: wait, dispatch, timers, a slice of the fan-out,
// publishers' answers; its mailbox; and the graceful stop.
#include "server/loop/event_loop.hpp"

#include "server/loop/loop_limits.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <exception>
#include <limits>
#include <optional>
#include <system_error>

namespace es {

EventLoop::EventLoop(LoopSetup setup)
    : options_(setup.options),
      log_(setup.log),
      cors_(setup.cors),
      hooks_(setup.hooks),
      kinds_(std::move(setup.kinds)),
      broker_(setup.broker),
      make_io_(std::move(setup.make_io)),
      subscribe_auth_(setup.subscribe_auth),
      endpoints_(setup.endpoints),
      hand_off_(std::move(setup.hand_off)),
      index_(setup.index),
      home_(setup.home ? setup.home : this),
      reuse_port_(setup.reuse_port),
      listens_(setup.listens),
      spread_to_(setup.spread_to),
      census_(*setup.census),
      scratch_(loop_limits::scratch_bytes),
      remote_backlog_(setup.loop_count) {
  if (is_home())
    broker_.attach(*this);
  else
    broker_.attach(remote_sink_);
}

EventLoop::~EventLoop() { finish(); }

void EventLoop::bind(std::uint16_t port) {
  if (listener_) return;
  listener_ = std::make_unique<ListenSocket>(options_.host, port ? port : options_.port, 4096, reuse_port_);
  port_ = listener_->port();
}

thread_local EventLoop* EventLoop::current_loop = nullptr;

void EventLoop::run() {
  loop_thread_ = std::this_thread::get_id();
  current_loop = this;
  std::exception_ptr failure;
  try {
    serve();
  } catch (...) {
    // What waits on this loop is still answered below, so that no thread
    // (a worker in Server::publish, another loop) waits for ever; the
    // server stops and rethrows (server.cpp).
    failure = std::current_exception();
    stopping_ = true;
    if (is_home()) broker_.stop();
  }
  std::exception_ptr closing_failure = close_down(failure != nullptr);
  current_loop = nullptr;
  loop_thread_ = std::thread::id{}; // a later thread with a reused id is not this loop's
  if (failure) std::rethrow_exception(failure);
  if (closing_failure) std::rethrow_exception(closing_failure);
}

void EventLoop::serve() {
  if (listens_) {
    bind();
    if (int error = poller_.add(listener_->fd(), EPOLLIN, loop_limits::listener_tag))
      throw std::system_error(error, std::generic_category(), "epoll_ctl (listening socket)");
  }
  if (int error = poller_.add(mailbox_.fd(), EPOLLIN | EPOLLET, loop_limits::mailbox_tag))
    throw std::system_error(error, std::generic_category(), "epoll_ctl (mailbox)");

  now_ = LoopClock::now();
  next_keepalive_ = options_.keepalive.count() > 0 ? now_ + options_.keepalive : LoopClock::time_point::max();
  next_housekeeping_ = now_ + loop_limits::housekeeping_interval;
  if (is_home()) {
    log_.info(descriptor_capacity_line(options_.workers));
    broker_.store().start(*this, [this](std::string_view token, const PublicationPtr& p, bool close_after) {
      broker_.deliver_live(token, p, close_after);
    });
    log_.info("listening on " + listener_->address());
  }

  std::array<epoll_event, 512> events;
  for (;;) {
    flush_outbox();
    // Messages that came while the loop was busy are taken at once; else
    // the next push wakes it.
    const bool may_sleep = mailbox_.prepare_to_sleep();
    const int n = poller_.wait(events, may_sleep ? next_timeout_ms() : 0);
    mailbox_.woke();
    if (n < 0) // the loop cannot go on: the server stops (server.cpp) rather than lose it silently
      throw std::system_error(errno, std::generic_category(), "epoll_wait");
    turn(std::span<const epoll_event>(events.data(), static_cast<std::size_t>(n)));
    if (stopping_) {
      if (!grace_over_ && now_ >= grace_deadline_) after_grace();
      if (open_connections_ == 0 || now_ >= hard_deadline_) break;
    }
  }
}

std::exception_ptr EventLoop::close_down(bool failed) {
  // Every step runs even if one before it threw: each answers somebody.
  std::exception_ptr first;
  const auto step = [&](auto&& work) {
    try {
      work();
    } catch (...) {
      if (!first) first = std::current_exception();
    }
  };
  if (failed) {
    // No grace period follows: workers holding this loop's connections are
    // woken now (their connections come back and stay until finish()).
    for (auto& slot : connections_)
      if (slot && slot->state == ConnectionState::handed_off && !slot->parked) step([&] { slot->io->abort(); });
  }
  if (is_home()) step([&] { broker_.store().stop(); }); // before the mailbox closes: a publish it answers may wait there
  step([&] { scheduler_.answer_publishers(true); });
  // What a throwing message left untaken, then what came since.
  std::vector<LoopMessage> left;
  for (std::size_t i = messages_taken_; i < messages_.size(); ++i) left.push_back(std::move(messages_[i]));
  messages_.clear();
  messages_taken_ = 0;
  for (auto& message : mailbox_.close()) left.push_back(std::move(message));
  for (auto& message : left) {
    if (auto* publish = std::get_if<PublishMessage>(&message)) {
      PublishResult r;
      r.status = PublishStatus::not_running;
      r.message = "Server is shutting down";
      step([&] { publish->reply->set_value(std::move(r)); });
    } else if (auto* task = std::get_if<TaskMessage>(&message)) {
      // Another loop's request: the broker and store, stopped, answer it
      // (a publish gets "shutting down"), so that its asker is not left waiting.
      step([&] { task->run(); });
    }
    // A connection given back now stays in the table; finish() closes it.
  }
  step([&] { flush_outbox(); });
  update_counters();
  if (first && failed) {
    // The loop's own failure is what run() reports; this one is logged.
    try {
      std::rethrow_exception(first);
    } catch (const std::exception& e) {
      log_.error(std::string("while stopping a failed event loop: ") + e.what());
    } catch (...) {
      log_.error("while stopping a failed event loop: an exception");
    }
    return nullptr;
  }
  return first;
}

void EventLoop::turn(std::span<const epoll_event> events) {
  now_ = LoopClock::now();
  process_mailbox(); // every turn: a push wakes the loop only while it sleeps
  for (const epoll_event& event : events) {
    if (event.data.u64 == loop_limits::listener_tag) {
      if (listener_ && listener_->fd() >= 0) accept_ready();
    } else if (event.data.u64 == loop_limits::mailbox_tag) {
      // woken: the mailbox was read above
    } else if (event.data.u64 & loop_limits::watched_tag) {
      const auto it = watched_.find(static_cast<int>(event.data.u64 & ~loop_limits::watched_tag));
      if (it != watched_.end()) it->second->on_io(event.events);
    } else if (Connection* c = find(static_cast<int>(event.data.u64))) {
      on_event(*c, event.events);
    }
  }
  if (now_ >= next_keepalive_) {
    send_keepalives();
    next_keepalive_ = now_ + options_.keepalive;
  }
  if (!timers_.empty() && timers_.begin()->first.first <= now_) run_timers();
  if (now_ >= next_housekeeping_) {
    housekeeping();
    next_housekeeping_ = now_ + loop_limits::housekeeping_interval;
  }
  take_next_requests();
  flush_outbox(); // the other loops write their share while this one writes its own
  flush_dirty(FanoutScheduler::default_slice);
  if (!is_home()) acknowledge_remote_deliveries();
  scheduler_.answer_publishers();
  if (accept_paused_ && now_ >= accept_paused_until_) resume_accepting();
  update_counters();
}

void EventLoop::finish() {
  for (auto& slot : connections_) {
    if (!slot) continue;
    if (slot->state == ConnectionState::streaming) end_subscription(*slot, CloseReason::server_stopped);
    if (slot) destroy(*slot);
  }
  if (listener_) listener_->close();
  update_counters();
}

int EventLoop::next_timeout_ms() const {
  auto due = std::min(next_keepalive_, next_housekeeping_);
  if (stopping_) due = std::min(due, grace_over_ ? hard_deadline_ : grace_deadline_);
  if (accept_paused_) due = std::min(due, accept_paused_until_);
  if (!timers_.empty()) due = std::min(due, timers_.begin()->first.first);
  if (scheduler_.has_dirty()) return 0;
  auto left = std::chrono::ceil<std::chrono::milliseconds>(due - LoopClock::now()).count();
  return static_cast<int>(std::clamp<long long>(left, 0, 60000));
}

void EventLoop::update_counters() {
  counters_.set(Counter::subscribers, registry_.subscriber_count());
  counters_.set(Counter::connections, open_connections_);
  counters_.set(Counter::events_delivered, delivered_);
  counters_.set(Counter::bytes_written, bytes_written_);
  // The server-wide figures come from the home loop alone (the broker, the
  // store, the log), so that the sum over loops counts them once.
  if (!is_home()) return;
  const StoreStats store = broker_.store().stats();
  counters_.set(Counter::tokens, std::max(broker_.followed_tokens(), store.tokens));
  counters_.set(Counter::history_bytes, store.bytes);
  counters_.set(Counter::history_evictions, store.evicted);
  counters_.set(Counter::redis_connected, store.redis_connected ? 1 : 0);
  counters_.set(Counter::redis_reconnects, store.redis_reconnects);
  counters_.set(Counter::redis_skipped_entries, store.skipped_entries);
  counters_.set(Counter::log_lines_dropped, log_.dropped());
  counters_.set(Counter::events_published, broker_.published());
}

// ---------------------------------------------------------------------------
// Spreading subscriptions over the loops (AcceptMode::spread)

EventLoop* EventLoop::subscription_loop() {
  if (!spread_to_ || spread_to_->size() < 2) return nullptr;
  EventLoop* target = (*spread_to_)[next_spread_++ % spread_to_->size()].get();
  return target == this ? nullptr : target;
}

void EventLoop::move_to(EventLoop& target, Connection& c) {
  const int fd = c.fd();
  if (!leave_poller(c, "moving a subscription")) return;
  --open_connections_;
  // Owned by the task until the target takes it; if the target has stopped,
  // the connection closes when the task goes.
  auto moving = std::make_shared<std::unique_ptr<Connection>>(std::move(connections_[static_cast<std::size_t>(fd)]));
  [[maybe_unused]] bool taken = target.post([&target, moving] { target.adopt(std::move(*moving)); });
}

void EventLoop::adopt(std::unique_ptr<Connection> c) {
  if (!c || stopping_) return; // closes it
  const int fd = c->fd();
  const auto index = static_cast<std::size_t>(fd);
  if (index >= connections_.size()) connections_.resize(std::max(index + 1, connections_.size() * 2));
  c->serial = next_serial_++;
  if (int e = poller_.add(fd, EPOLLIN | EPOLLRDHUP, static_cast<std::uint64_t>(fd))) {
    log_.error(std::string("epoll_ctl (a moved subscription): ") + std::strerror(e) + "; closing " + c->remote);
    return;
  }
  c->in_poller = true;
  connections_[index] = std::move(c);
  ++open_connections_;
  try_request(*connections_[index]); // its request is in its input: routed again, here
}

// ---------------------------------------------------------------------------
// Loops together: the home loop runs the broker and the store

bool EventLoop::post(std::function<void()> task) { return mailbox_.push(TaskMessage{std::move(task)}); }

bool EventLoop::at_home(std::function<void(EventLoop& home)> task) {
  if (is_home()) {
    task(*this);
    return true;
  }
  return home_->post([home = home_, task = std::move(task)] { task(*home); });
}

void EventLoop::here(std::function<void()> task) {
  if (on_loop_thread())
    task();
  else
    post_batched(std::move(task)); // dropped once this loop has stopped
}

void EventLoop::post_batched(std::function<void()> task) {
  EventLoop* from = current_loop;
  if (from == nullptr || from == this) {
    [[maybe_unused]] bool taken = post(std::move(task));
    return;
  }
  auto it = std::find_if(from->outbox_.begin(), from->outbox_.end(), [this](const Outgoing& o) { return o.to == this; });
  if (it == from->outbox_.end()) it = from->outbox_.insert(from->outbox_.end(), Outgoing{this, {}});
  it->messages.emplace_back(TaskMessage{std::move(task)});
}

void EventLoop::flush_outbox() {
  for (Outgoing& out : outbox_) {
    if (out.messages.empty()) continue;
    if (!out.to->mailbox_.push_all(out.messages)) out.messages.clear(); // it has stopped
  }
}

void EventLoop::follow(const std::string& token) {
  at_home([token, index = index_](EventLoop& home) { home.broker_.follow(token, index); });
}

void EventLoop::unfollow(const std::string& token) {
  at_home([token, index = index_](EventLoop& home) { home.broker_.unfollow(token, index); });
}

void EventLoop::RemoteSink::deliver(std::string_view token, const PublicationPtr& publication, bool close_after) {
  // On the home loop's thread: numbered there, acknowledged by loop_ once
  // the backlog ahead of it is written (remote_backlog.hpp).
  loop_.home_->remote_backlog_.sent(loop_.index_);
  loop_.post_batched([loop = &loop_, token = std::string(token), publication, close_after] {
    loop->note_remote_delivery();
    loop->deliver(token, publication, close_after);
  });
}

void EventLoop::note_remote_delivery() { remote_deliveries_.push_back(scheduler_.marks_made()); }

void EventLoop::acknowledge_remote_deliveries() {
  std::uint64_t written = remote_acknowledged_;
  while (!remote_deliveries_.empty() && scheduler_.marks_taken() >= remote_deliveries_.front()) {
    ++written;
    remote_deliveries_.pop_front();
  }
  if (written == remote_acknowledged_) return;
  remote_acknowledged_ = written;
  home_->post_batched([home = home_, index = index_, written] { home->remote_written(index, written); });
}

void EventLoop::remote_written(std::size_t loop, std::uint64_t count) {
  remote_backlog_.written(loop, count);
  scheduler_.remote_written(remote_backlog_.written_through());
}

// ---------------------------------------------------------------------------
// The Reactor lent to the store

int EventLoop::watch(int fd, std::uint32_t events, IoHandler& handler) {
  const std::uint64_t tag = loop_limits::watched_tag | static_cast<std::uint64_t>(fd);
  auto [it, added] = watched_.try_emplace(fd, &handler);
  it->second = &handler;
  const int error = added ? poller_.add(fd, events, tag) : poller_.modify(fd, events, tag);
  if (error && added) watched_.erase(fd);
  return error;
}

void EventLoop::unwatch(int fd) {
  if (watched_.erase(fd) == 0) return;
  [[maybe_unused]] int error = poller_.remove(fd); // it may be closed already: nothing to undo then
}

Reactor::TimerId EventLoop::call_after(std::chrono::milliseconds delay, std::function<void()> callback) {
  const TimerId id = next_timer_++;
  const auto due = LoopClock::now() + delay;
  timers_.emplace(std::make_pair(due, id), std::move(callback));
  timer_due_.emplace(id, due);
  return id;
}

void EventLoop::cancel(TimerId timer) {
  const auto it = timer_due_.find(timer);
  if (it == timer_due_.end()) return;
  timers_.erase(std::make_pair(it->second, timer));
  timer_due_.erase(it);
}

void EventLoop::run_timers() {
  // Only those due now: a timer a callback adds for 0 ms runs next turn.
  const auto now = LoopClock::now();
  while (!timers_.empty() && timers_.begin()->first.first <= now) {
    auto node = timers_.extract(timers_.begin());
    timer_due_.erase(node.key().second);
    node.mapped()();
  }
}

// ---------------------------------------------------------------------------
// The mailbox

void EventLoop::process_mailbox() {
  mailbox_.take(messages_);
  // Counted as it goes: if one throws, close_down() answers those after it.
  for (messages_taken_ = 0; messages_taken_ < messages_.size();) {
    LoopMessage& message = messages_[messages_taken_++];
    if (auto* publish = std::get_if<PublishMessage>(&message)) {
      publish_on_loop(publish->token, std::move(publish->event), publish->close_after, publish->reply);
    } else if (auto* back = std::get_if<ReturnMessage>(&message)) {
      take_back(*back->connection, back->keep_alive);
    } else if (auto* task = std::get_if<TaskMessage>(&message)) {
      task->run();
    } else {
      begin_stop();
    }
  }
  messages_.clear();
  messages_taken_ = 0;
}

void EventLoop::publish_on_loop(std::string_view token, Event event, bool close_after,
                                std::promise<PublishResult>* reply) {
  // The publisher hears back once everything queued before its event has
  // been written out (FanoutScheduler).
  const std::uint64_t ahead = scheduler_.marks_made();
  broker_.publish(token, std::move(event), close_after, [this, ahead, reply](PublishResult result) {
    counters_.set(Counter::events_published, broker_.published()); // before the publisher hears back
    if (result)
      scheduler_.answer_after(ahead, reply, std::move(result), remote_backlog_mark());
    else
      reply->set_value(std::move(result));
  });
}

PublishResult EventLoop::publish(std::string token, Event event, bool close_after) {
  if (on_loop_thread()) {
    // From a hook: no waiting on ourselves. The memory store answers at
    // once; Redis later, and only a failure is worth a line then.
    struct Answer {
      bool awaited = true;
      std::optional<PublishResult> result;
    };
    auto answer = std::make_shared<Answer>();
    broker_.publish(token, std::move(event), close_after, [this, answer, token](PublishResult r) {
      if (answer->awaited)
        answer->result = std::move(r);
      else if (!r)
        log_.warn("publish to " + token + " from a hook failed: " + r.message);
    });
    counters_.set(Counter::events_published, broker_.published());
    answer->awaited = false;
    if (answer->result) return std::move(*answer->result);
    PublishResult queued;
    queued.status = PublishStatus::queued;
    queued.message = "Sent to the store; its answer comes later";
    return queued;
  }
  if (current_loop != nullptr) {
    // From a hook on another loop: waiting for the home loop would stall
    // every stream of that loop, so the event is sent and not awaited.
    const bool sent = post([this, token, event = std::move(event), close_after]() mutable {
      broker_.publish(token, std::move(event), close_after, [this, token](PublishResult r) {
        counters_.set(Counter::events_published, broker_.published());
        if (!r) log_.warn("publish to " + token + " from a hook failed: " + r.message);
      });
    });
    PublishResult queued;
    queued.status = sent ? PublishStatus::queued : PublishStatus::not_running;
    queued.message = sent ? "Sent to the home loop; its answer is not awaited" : "Server is not running";
    return queued;
  }
  std::promise<PublishResult> reply;
  auto result = reply.get_future();
  if (!mailbox_.push(PublishMessage{std::move(token), std::move(event), close_after, &reply})) {
    PublishResult r;
    r.status = PublishStatus::not_running;
    r.message = "Server is not running";
    return r;
  }
  return result.get();
}

void EventLoop::give_back(Connection& connection, bool keep_alive) {
  // If the loop has already ended, the connection stays in the table and finish() closes it.
  [[maybe_unused]] bool taken = mailbox_.push(ReturnMessage{&connection, keep_alive});
}

void EventLoop::take_back(Connection& c, bool keep_alive) {
  --handed_off_;
  if (stopping_ || !keep_alive) {
    destroy(c);
    return;
  }
  c.state = ConnectionState::reading_head;
  c.request_line.clear();
  c.deadline = now_ + options_.idle_timeout;
  if (!watch(c)) return;
  try_request(c); // a pipelined request may already be here
}

// ---------------------------------------------------------------------------
// Timers and stopping

void EventLoop::housekeeping() {
  if (is_home()) broker_.store().housekeeping();
  for (auto& slot : connections_) {
    if (!slot || now_ < slot->deadline) continue;
    Connection& c = *slot;
    switch (c.state) {
      case ConnectionState::handshaking:
        counters_.add(Counter::handshake_failures);
        if (log_.debugging()) log_.debug(c.remote + " TLS handshake not complete in time: closing");
        destroy(c);
        break;
      case ConnectionState::reading_head:
        if (c.input.empty()) {
          if (log_.debugging()) log_.debug(c.remote + " idle: closing");
          destroy(c);
        } else {
          c.request_line = "-";
          respond_and_close(c, 408, "Request head not received in time");
        }
        break;
      case ConnectionState::reading_body:
        respond_and_close(c, 408, "Request body not received in time");
        break;
      case ConnectionState::closing:
        destroy(c);
        break;
      case ConnectionState::handed_off:
      case ConnectionState::streaming:
        break;
    }
  }
}

void EventLoop::request_stop() { [[maybe_unused]] bool taken = mailbox_.push(StopMessage{}); }

void EventLoop::begin_stop() {
  if (stopping_) return;
  stopping_ = true;
  if (is_home()) {
    broker_.stop();
    // The other loops may stop before they acknowledge what they were
    // sent: publishers waiting on them are answered now (the events are
    // stored and queued; the streams get them within the grace period).
    scheduler_.remote_written(std::numeric_limits<std::uint64_t>::max());
  }
  grace_deadline_ = now_ + options_.shutdown_grace;
  hard_deadline_ = grace_deadline_ + loop_limits::hard_stop_margin;
  if (listener_) listener_->close(); // also leaves the epoll set
  // One line for the server (every loop's streams), not one per loop.
  if (is_home()) log_.info("stopping: " + std::to_string(census_.total()) + " streams to end");
  for (auto& slot : connections_) {
    if (!slot) continue;
    Connection& c = *slot;
    switch (c.state) {
      case ConnectionState::handshaking:
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

void EventLoop::after_grace() {
  grace_over_ = true;
  for (auto& slot : connections_) {
    if (!slot) continue;
    if (slot->state == ConnectionState::handed_off && !slot->parked) {
      slot->io->abort(); // wakes its worker; the connection comes back and is closed
    } else {
      if (slot->parked) --handed_off_;
      destroy(*slot);
    }
  }
}

}  // namespace es
