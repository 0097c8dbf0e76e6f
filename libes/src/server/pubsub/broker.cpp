// SPDX-License-Identifier: GPL-3.0-or-later
#include "server/pubsub/broker.hpp"

#include <algorithm>
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
                  result.subscribers = subscribers_of(token);
                  // Else the store delivers it when it reads it back, in its order.
                  if (!store_.delivers_live()) deliver(token, a.publication, close_after);
                  result.stored = result.subscribers == 0;
                  done(std::move(result));
                });
}

void Broker::deliver_live(std::string_view token, const PublicationPtr& publication, bool close_after) {
  ++delivered_live_;
  deliver(token, publication, close_after);
}

void Broker::deliver(std::string_view token, const PublicationPtr& publication, bool close_after) {
  const auto it = following_.find(token);
  if (it == following_.end()) return;
  // Copied: a loop that delivers at once may end streams (close) and so unfollow.
  const std::vector<std::uint32_t> per_loop = it->second.per_loop;
  for (std::size_t loop = 0; loop < per_loop.size() && loop < sinks_.size(); ++loop)
    if (per_loop[loop] > 0) sinks_[loop]->deliver(token, publication, close_after);
}

std::size_t Broker::subscribers_of(std::string_view token) const {
  const auto it = following_.find(token);
  return it == following_.end() ? 0 : it->second.total;
}

void Broker::follow(std::string_view token, std::size_t loop) {
  auto it = following_.find(token);
  if (it == following_.end()) {
    it = following_.emplace(std::string(token), Following{}).first;
    store_.follow(token);
  }
  Following& f = it->second;
  if (f.per_loop.size() <= loop) f.per_loop.resize(std::max(sinks_.size(), loop + 1));
  ++f.per_loop[loop];
  ++f.total;
}

void Broker::unfollow(std::string_view token, std::size_t loop) {
  auto it = following_.find(token);
  if (it == following_.end() || it->second.per_loop.size() <= loop || it->second.per_loop[loop] == 0) return;
  --it->second.per_loop[loop];
  if (--it->second.total == 0) {
    following_.erase(it);
    store_.unfollow(token);
  }
}

}  // namespace es
