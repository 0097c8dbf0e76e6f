// SPDX-License-Identifier: GPL-3.0-or-later
// Fan-out on one loop: a publication's shared bytes appended to each
// subscriber's write queue, queues written in slices (FanoutScheduler),
// one writev per queue, and subscribers that cannot keep up cut off.
#include "server/loop/event_loop.hpp"

#include "server/loop/loop_limits.hpp"

#include <array>
#include <chrono>

namespace es {

void EventLoop::deliver(std::string_view token, const PublicationPtr& publication, bool close_after) {
  const std::vector<SubscriberId>& subscribers = registry_.subscribers(token);
  const std::size_t count = subscribers.size();
  for (SubscriberId s : subscribers) {
    Connection* c = find(static_cast<int>(s));
    if (!c) continue;
    if (c->replaying())
      c->held->push_back(publication); // joined after the replay (join_replay)
    else if (publication->position > c->replayed_up_to)
      enqueue(*c, publication->framed_for(c->kind), true);
  }
  cut_off_slow();
  if (count > 0) fanouts_.push_back({scheduler_.marks_made(), LoopClock::now()});

  if (close_after) {
    const std::vector<SubscriberId> ending = registry_.subscribers(token);
    for (SubscriberId s : ending)
      if (Connection* c = find(static_cast<int>(s)); c && c->state == ConnectionState::streaming)
        end_subscription(*c, CloseReason::token_closed);
  }
}

void EventLoop::enqueue(Connection& c, const SharedBytes& bytes, bool is_event) {
  c.output.push(bytes, is_event);
  if (!c.want_write)
    mark_dirty(c);
  else if (c.state == ConnectionState::streaming && c.output.unsent_bytes() > options_.max_queue)
    slow_.push_back({c.fd(), c.serial});
}

void EventLoop::mark_dirty(Connection& c) {
  if (c.dirty) return;
  c.dirty = true;
  scheduler_.mark({c.fd(), c.serial});
}

void EventLoop::flush_dirty(std::size_t budget) {
  // Oldest marked first. A queue marked again while it waits keeps its
  // place; one written and then given more goes to the back.
  while (budget > 0) {
    const auto next = scheduler_.next();
    if (!next) break;
    Connection* c = find(*next);
    if (!c) continue;
    --budget;
    c->dirty = false;
    if (!c->want_write) flush(*c); // hooks called from here may publish: more marks
  }
  scheduler_.compact();
  cut_off_slow();
  // A fan-out is over once every queue marked for it has been written (or
  // found waiting for the kernel): its duration goes into the histogram.
  while (!fanouts_.empty() && scheduler_.marks_taken() >= fanouts_.front().after_marks) {
    fanout_seconds_.observe(now_ - fanouts_.front().started);
    fanouts_.pop_front();
  }
}

void EventLoop::flush(Connection& c) {
  if (c.state == ConnectionState::handshaking || c.state == ConnectionState::handed_off) return;
  std::array<iovec, loop_limits::iovecs_per_write> pieces;
  bool blocked = false;
  while (!c.output.empty()) {
    const std::size_t n = c.output.gather(pieces);
    std::size_t total = 0;
    for (std::size_t i = 0; i < n; ++i) total += pieces[i].iov_len;
    IoResult r = c.io->write(std::span<const iovec>(pieces.data(), n));
    if (r.status == IoStatus::ok) {
      bytes_written_ += r.bytes;
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
      if (!update_events(c)) return;
    }
    if (c.state == ConnectionState::streaming && c.output.unsent_bytes() > options_.max_queue)
      end_subscription(c, CloseReason::slow_consumer);
    return;
  }
  if (c.want_write || c.reads_paused) {
    const bool resume = c.reads_paused;
    c.want_write = false;
    c.reads_paused = false;
    if (!update_events(c)) return;
    // The answer is out: the pipelined request behind it can be taken.
    if (resume && c.state == ConnectionState::reading_head) next_requests_.push_back(QueueRef{c.fd(), c.serial});
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

void EventLoop::cut_off_slow() {
  while (!slow_.empty()) {
    auto list = std::move(slow_);
    slow_.clear();
    for (QueueRef ref : list)
      if (Connection* c = find(ref); c && c->state == ConnectionState::streaming)
        end_subscription(*c, CloseReason::slow_consumer);
  }
}

void EventLoop::send_keepalives() {
  if (registry_.subscriber_count() == 0) return;
  const auto unix_time =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  // One buffer per kind for every stream this tick.
  std::array<SharedBytes, max_subscriber_kinds> bytes;
  for (std::size_t k = 0; k < kinds_.size(); ++k) bytes[k] = kinds_[k]->keepalive(unix_time);
  for (auto& slot : connections_)
    if (slot && slot->state == ConnectionState::streaming && !slot->replaying()) enqueue(*slot, bytes[slot->kind], false);
  cut_off_slow();
}

}  // namespace es
