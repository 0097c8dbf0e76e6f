// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// The store seam: where event ids and history come from. In memory today
// (the hub's per-token rings and an IdSource); Redis Streams later, so that
// several servers act as one and outside programs can publish (XADD gives
// ids, XRANGE replays after Last-Event-ID).
//
// Called only from the streaming loop's thread, in publish order: the order
// ids are assigned is the order events are delivered.

#include <es/event_id.hpp>
#include <es/hub.hpp>

#include <memory>
#include <string>
#include <string_view>

namespace es {

class EventStore {
 public:
  virtual ~EventStore() = default;
  /// True when events are given ids (and Last-Event-ID means something).
  virtual bool assigns_ids() const = 0;
  /// True when events are kept for replay even with nobody subscribed.
  virtual bool keeps_history() const = 0;
  /// The id of the next event on `token`; "" when ids are off.
  virtual std::string next_id(std::string_view token) = 0;
  /// Keeps `event` as the token's latest (and in its history).
  virtual void record(std::string_view token, StoredEvent event) = 0;
  /// What a subscriber that last saw `last_id` has missed.
  virtual Replay events_after(std::string_view token, std::string_view last_id, HubClock::time_point now) const = 0;
  /// The token's newest stored event, or nullptr.
  virtual const StoredEvent* latest(std::string_view token, HubClock::time_point now) const = 0;
  /// Drops what has aged out.
  virtual void expire(HubClock::time_point now) = 0;
};

/// History in the hub's per-token rings; ids from `ids` (null: no ids).
class MemoryEventStore final : public EventStore {
 public:
  MemoryEventStore(Hub& hub, std::shared_ptr<IdSource> ids) : hub_(hub), ids_(std::move(ids)) {}

  bool assigns_ids() const override { return ids_ != nullptr; }
  bool keeps_history() const override { return hub_.keeps_history(); }
  std::string next_id(std::string_view token) override;
  void record(std::string_view token, StoredEvent event) override;
  Replay events_after(std::string_view token, std::string_view last_id, HubClock::time_point now) const override;
  const StoredEvent* latest(std::string_view token, HubClock::time_point now) const override;
  void expire(HubClock::time_point now) override;

 private:
  Hub& hub_;
  std::shared_ptr<IdSource> ids_;
};

}  // namespace es
