// SPDX-License-Identifier: GPL-3.0-or-later
#include "server/store/memory/memory_store.hpp"

#include <cstdio>
#include <random>
#include <utility>

namespace es {
namespace {

std::string random_epoch() {
  std::random_device random;
  char text[17];
  std::snprintf(text, sizeof text, "%08x%08x", random(), random());
  return text;
}

}  // namespace

MemoryStore::MemoryStore(HistoryLimits limits, std::shared_ptr<IdSource> ids, const Framer& framer, Clock clock)
    : history_(limits), ids_(std::move(ids)), framer_(framer), clock_(std::move(clock)), epoch_(random_epoch()) {}

void MemoryStore::append(std::string_view token, Event event, AppendDone done) {
  if (ids_) event.id = ids_->next(token);
  auto publication = framer_.frame(event, StorePosition{0, ++appended_}, now());
  Appended answer;
  if (publication) {
    history_.record(token, *publication);
    answer.publication = *publication;
  } else {
    answer.failure = PublishStatus::bad_data;
    answer.message = "Data is not properly formatted: " + publication.error();
  }
  done(std::move(answer));
}

void MemoryStore::read_after(std::string_view token, std::string_view last_id, ReplayDone done) {
  Replay replay = history_.events_after(token, last_id, now());
  replay.epoch = epoch_;
  done(std::move(replay));
}

void MemoryStore::latest(std::string_view token, LatestDone done) { done(history_.latest(token, now())); }

}  // namespace es
