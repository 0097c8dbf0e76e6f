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
                [this, token = std::string(token), close_after, done = std::move(done)](Result<PublicationPtr> p) {
                  if (!p) return done(failed(PublishStatus::bad_data, "Data is not properly formatted: " + p.error()));
                  ++published_;
                  PublishResult result;
                  result.id = (*p)->id;
                  for (PublicationSink* sink : sinks_) result.subscribers += sink->deliver(token, *p, close_after);
                  result.stored = result.subscribers == 0;
                  done(std::move(result));
                });
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
