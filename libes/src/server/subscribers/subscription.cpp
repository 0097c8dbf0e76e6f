// SPDX-License-Identifier: GPL-3.0-or-later
// A subscriber's life on its loop, whatever its kind: the request checked
// (subscribe_policy), the kind chosen and the stream opened, the replay
// after Last-Event-ID joined to live delivery, client bytes handed to the
// kind, and the end of the stream.
#include "server/loop/event_loop.hpp"

#include "http/request_target.hpp"
#include "server/auth/access_token.hpp"
#include "server/auth/authorize.hpp"
#include "server/loop/loop_limits.hpp"
#include "server/subscribers/subscribe_policy.hpp"

#include <exception>

namespace es {

void EventLoop::subscribe(Connection& c, const http::RequestHead& head, std::string_view encoded_token,
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

  const CorsHeaders cors = cors_.headers_for(head.field("Origin"));
  std::size_t kind = 0;
  while (kind < kinds_.size() && !kinds_[kind]->accepts(head)) ++kind;
  if (kind == kinds_.size()) {
    respond_and_close(c, 400, "Unsupported subscription request", cors.lines());
    return;
  }

  if (subscribe_auth_) {
    const AuthDecision decision =
        authorize(*subscribe_auth_, find_access_token(head.field("Authorization"), head.field("Cookie"), query),
                  Permission::subscribe, *token);
    if (!decision.allowed()) {
      respond_and_close(c, decision.status, decision.message, decision.extra_headers + cors.lines());
      return;
    }
  }

  std::vector<HeaderView> headers;
  if (hooks_.check_connection) {
    headers.reserve(head.fields.size());
    for (const auto& f : head.fields) headers.push_back({f.name, f.value});
  }
  SubscriberInfo request;
  request.id = c.serial;
  request.token = *token;
  request.remote = c.remote;
  request.last_event_id = last_id;
  request.headers = headers;
  request.kind = kinds_[kind]->name();
  if (auto refusal = check_subscription(request, census_.counts(*token), options_, hooks_.check_connection, log_)) {
    respond_and_close(c, refusal->status, refusal->message, cors.lines());
    return;
  }
  // Counted for every loop at once (another loop may have admitted one since).
  if (auto refusal = census_.admit(*token)) {
    respond_and_close(c, refusal->status, refusal->message, cors.lines());
    return;
  }
  StreamOpening opening = kinds_[kind]->open(head, cors);
  if (!opening.head) {
    census_.leave(*token);
    respond_and_close(c, opening.status, opening.message, opening.extra_headers + cors.lines());
    return;
  }

  // `head` and `cors` are views into the input: done with them before it goes.
  c.state = ConnectionState::streaming;
  c.kind = static_cast<std::uint8_t>(kind);
  c.input_state = kinds_[kind]->new_input_state();
  c.token = std::move(*token);
  c.subscriber_id = c.serial;
  c.started = now_;
  std::string().swap(c.input);
  registry_.subscribe(static_cast<SubscriberId>(c.fd()), c.token);
  follow(c.token);
  counters_.subscribers_by_kind[c.kind].fetch_add(1, std::memory_order_relaxed);

  if (log_.debugging())
    log_.debug(c.remote + " subscribed to \"" + c.token + "\"" +
               (last_id.empty() ? std::string() : " after id \"" + last_id + "\""));
  // The head goes out once the store delivers everything published from
  // now on (at once with the memory store); what arrives before is held.
  const QueueRef ref{c.fd(), c.serial};
  auto opened = std::make_shared<bool>(false);
  auto open = [this, ref, opened, head = opening.head, last_id]() {
    *opened = true;
    Connection* stream = find(ref);
    if (!stream || stream->state != ConnectionState::streaming) return;
    open_stream(*stream, head, last_id);
  };
  // On another loop than the home one the answer comes through the
  // mailbox, after the follow above: from then on the broker delivers here.
  at_home([this, token = c.token, open = std::move(open)](EventLoop& home) mutable {
    home.broker_.store().when_following(token, [this, open = std::move(open)]() mutable { here(std::move(open)); });
  });
  if (!*opened) {
    c.held = std::make_unique<std::vector<PublicationPtr>>();
    c.pending_head = opening.head;
  }
  if (hooks_.on_open) {
    try {
      hooks_.on_open(info_of(c));
    } catch (const std::exception& e) {
      log_.error(std::string("on_open hook threw: ") + e.what());
    }
  }
}

void EventLoop::open_stream(Connection& c, const SharedBytes& head, const std::string& last_id) {
  c.pending_head.reset();
  enqueue(c, head, false);
  if (!last_id.empty()) {
    replay_to(c, last_id);
  } else if (options_.latest) {
    if (!c.held) c.held = std::make_unique<std::vector<PublicationPtr>>();
    at_home([this, token = c.token, ref = QueueRef{c.fd(), c.serial}](EventLoop& home) {
      home.broker_.store().latest(token, [this, ref](PublicationPtr latest) {
        here([this, ref, latest = std::move(latest)]() mutable {
          Replay replay;
          if (latest) replay.events.push_back(std::move(latest));
          join_replay(ref, {}, std::move(replay));
        });
      });
    });
  } else if (c.held) {
    join_replay(QueueRef{c.fd(), c.serial}, {}, Replay{}); // what came while the head waited
  }
}

void EventLoop::replay_to(Connection& c, const std::string& last_id) {
  if (!c.held) c.held = std::make_unique<std::vector<PublicationPtr>>();
  at_home([this, token = c.token, ref = QueueRef{c.fd(), c.serial}, last_id](EventLoop& home) {
    home.broker_.store().read_after(token, last_id, [this, ref, last_id](Replay replay) {
      here([this, ref, last_id, replay = std::move(replay)]() mutable { join_replay(ref, last_id, std::move(replay)); });
    });
  });
}

// The replay first, then what was published meanwhile and is not in it: a
// store that answers later (Redis) may have sent some of the same events
// live already. Positions tell them apart.
void EventLoop::join_replay(QueueRef ref, std::string last_id, Replay replay) {
  Connection* c = find(ref);
  if (!c || c->state != ConnectionState::streaming) return;
  const std::unique_ptr<std::vector<PublicationPtr>> held = std::move(c->held);
  const SubscriberKind& kind = *kinds_[c->kind];
  if (replay.gap) {
    // In-band notice that events may have been missed, instead of a silent gap.
    Event gap;
    gap.name = "gap";
    gap.data = std::move(last_id);
    if (auto bytes = kind.frame(gap)) enqueue(*c, *bytes, true);
  }
  StorePosition replayed{};
  for (const PublicationPtr& p : replay.events) {
    enqueue(*c, p->framed_for(c->kind), true);
    replayed = p->position;
  }
  // Held publications the client already has (up to the id it sent, when
  // the store knows where that is) or the replay had are dropped.
  const bool bounded = !replay.events.empty() || replay.after.has_value();
  const StorePosition floor = std::max(replayed, replay.after.value_or(StorePosition{}));
  if (held)
    for (const PublicationPtr& p : *held)
      if (!bounded || p->position > floor) enqueue(*c, p->framed_for(c->kind), true);
  if (bounded) c->replayed_up_to = floor;
  // Queues over max_queue now are cut off at the end of the turn (flush_dirty).
}

void EventLoop::read_stream_input(Connection& c) {
  for (int i = 0; i < loop_limits::reads_per_turn; ++i) {
    IoResult r = c.io->read(scratch_.data(), scratch_.size());
    if (r.status == IoStatus::would_block) return;
    if (r.status == IoStatus::ok) {
      if (c.state != ConnectionState::streaming) continue; // a closing connection's input is dropped
      InputReply reply = kinds_[c.kind]->on_input(c.input_state.get(), std::string_view(scratch_.data(), r.bytes));
      if (reply.send) enqueue(c, reply.send, false);
      if (reply.close) {
        if (!reply.detail.empty() && log_.debugging())
          log_.debug(c.remote + " on \"" + c.token + "\": " + reply.detail + ": closing");
        // The reply (a close frame) is written before the connection closes.
        end_subscription(c, *reply.close, /*flush_first=*/true);
        return;
      }
      continue;
    }
    if (c.state == ConnectionState::streaming)
      end_subscription(c, CloseReason::client_closed);
    else
      destroy(c);
    return;
  }
}

SubscriberInfo EventLoop::info_of(const Connection& c) const {
  SubscriberInfo info;
  info.id = c.subscriber_id;
  info.token = c.token;
  info.remote = c.remote;
  info.kind = kinds_[c.kind]->name();
  return info;
}

void EventLoop::end_subscription(Connection& c, CloseReason reason, bool flush_first) {
  if (c.state != ConnectionState::streaming) return;
  if (registry_.unsubscribe(static_cast<SubscriberId>(c.fd())).was_subscribed) {
    census_.leave(c.token);
    unfollow(c.token);
  }
  counters_.subscribers_by_kind[c.kind].fetch_sub(1, std::memory_order_relaxed);
  if (c.pending_head && (reason == CloseReason::token_closed || reason == CloseReason::server_stopped)) {
    // Ended while its head waited for the home loop or the store: the
    // client still gets a proper answer, and what was held for it (the
    // close event itself), before the end.
    enqueue(c, c.pending_head, false);
    if (c.held)
      for (const PublicationPtr& p : *c.held) enqueue(c, p->framed_for(c.kind), true);
  }
  c.pending_head.reset();
  c.state = ConnectionState::closing;
  c.held.reset();
  if (reason == CloseReason::slow_consumer) {
    counters_.add(Counter::slow_disconnects);
    log_.warn(c.remote + " on \"" + c.token + "\" cut off: " + std::to_string(c.output.unsent_bytes()) +
              " bytes unsent (limit " + std::to_string(options_.max_queue) + "); it may resume with Last-Event-ID");
  }
  c.close_reason = reason;
  if (hooks_.on_close) {
    try {
      hooks_.on_close(info_of(c), reason);
    } catch (const std::exception& e) {
      log_.error(std::string("on_close hook threw: ") + e.what());
    }
  }
  switch (reason) {
    case CloseReason::write_failed:
      destroy(c);
      return;
    case CloseReason::client_closed:
    case CloseReason::protocol_error:
      if (flush_first) {
        c.linger = true;
        start_closing(c);
      }
      else
        destroy(c);
      return;
    case CloseReason::slow_consumer:
      // A kind with a last word (a WebSocket close frame) says it in place
      // of what the subscriber could not take; SSE has none: cut at once.
      if (SharedBytes farewell = kinds_[c.kind]->farewell(reason)) {
        c.output.drop_unstarted();
        c.output.push(std::move(farewell), false);
        c.linger = true; // then wait (briefly) for the client's answering close
        start_closing(c);
      } else {
        destroy(c);
      }
      return;
    case CloseReason::token_closed:
    case CloseReason::server_stopped:
      if (SharedBytes farewell = kinds_[c.kind]->farewell(reason)) {
        c.output.push(std::move(farewell), false);
        c.linger = true; // RFC 6455, 7.1.1: the client answers the close, then we close
      }
      start_closing(c);
      return;
  }
}

void EventLoop::start_closing(Connection& c) {
  c.state = ConnectionState::closing;
  c.deadline = now_ + loop_limits::linger_time;
  if (stopping_) c.deadline = std::min(c.deadline, grace_deadline_);
  mark_dirty(c);
}

}  // namespace es
