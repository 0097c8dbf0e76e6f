// SPDX-License-Identifier: GPL-3.0-or-later
#include "server/pubsub/broker.hpp"

#include <utility>

namespace es {
namespace {

PublishResult failed(PublishStatus status, std::string message) {
  PublishResult r;
  r.status = status;
  r.message = std::move(message);
  return r;
}

}  // namespace

void Broker::publish(std::string_view token, Event event, bool close_after, Done done) {
  if (stopping_) return done(failed(PublishStatus::not_running, "Server is shutting down"));
  if (!followed(token) && !store_.keeps_history())
    return done(failed(PublishStatus::not_connected, "Target is not connected"));
  if (auto reason = framer_.invalid_reason(event); !reason.empty())
    return done(failed(PublishStatus::bad_data, "Data is not properly formatted: " + reason));

  store_.append(token, std::move(event),
                [this, token = std::string(token), close_after, done = std::move(done)](Appended a) {
                  if (!a.publication) return done(failed(a.failure, std::move(a.message)));
                  ++published_;
                  PublishResult result;
                  result.id = a.publication->id;
                  if (store_.delivers_live()) {
                    // The store delivers it when it reads it back, in its order.
                    for (PublicationSink* sink : sinks_) result.subscribers += sink->subscribers_of(token);
                  } else {
                    for (PublicationSink* sink : sinks_)
                      result.subscribers += sink->deliver(token, a.publication, close_after);
                  }
                  result.stored = result.subscribers == 0;
                  done(std::move(result));
                });
}

void Broker::deliver_live(std::string_view token, const PublicationPtr& publication, bool close_after) {
  ++delivered_live_;
  for (PublicationSink* sink : sinks_) sink->deliver(token, publication, close_after);
}

void Broker::follow(std::string_view token) {
  auto it = following_.find(token);
  if (it == following_.end()) {
    following_.emplace(std::string(token), 1);
    store_.follow(token);
  } else {
    ++it->second;
  }
}

void Broker::unfollow(std::string_view token) {
  auto it = following_.find(token);
  if (it == following_.end()) return;
  if (--it->second == 0) {
    following_.erase(it);
    store_.unfollow(token);
  }
}

}  // namespace es
