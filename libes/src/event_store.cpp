// SPDX-License-Identifier: GPL-3.0-or-later
#include "event_store.hpp"

#include <utility>

namespace es {

std::string MemoryEventStore::next_id(std::string_view token) { return ids_ ? ids_->next(token) : std::string(); }

void MemoryEventStore::record(std::string_view token, StoredEvent event) { hub_.record(token, std::move(event)); }

Replay MemoryEventStore::events_after(std::string_view token, std::string_view last_id,
                                      HubClock::time_point now) const {
  return hub_.events_after(token, last_id, now);
}

const StoredEvent* MemoryEventStore::latest(std::string_view token, HubClock::time_point now) const {
  return hub_.latest(token, now);
}

void MemoryEventStore::expire(HubClock::time_point now) { hub_.expire(now); }

}  // namespace es
