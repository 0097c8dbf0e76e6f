// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// The store of a single server: ids from an IdSource, history in
// TokenHistory rings, positions from a counter. Every operation completes
// before it returns. Its epoch is drawn at random when it is made, so a
// restarted server's history never passes for the old one's.

#include "server/store/event_store.hpp"
#include "server/store/memory/token_history.hpp"

#include <es/event_id.hpp>

#include <cstdint>
#include <functional>
#include <memory>

namespace es {

class MemoryStore final : public EventStore {
 public:
  using Clock = std::function<StoreClock::time_point()>;

  /// `ids` null: events get no ids. `clock` empty: the steady clock.
  MemoryStore(HistoryLimits limits, std::shared_ptr<IdSource> ids, const Framer& framer, Clock clock = {});

  bool assigns_ids() const override { return ids_ != nullptr; }
  bool keeps_history() const override { return history_.keeps_history(); }
  const std::string& epoch() const override { return epoch_; }
  void append(std::string_view token, Event event, AppendDone done) override;
  void read_after(std::string_view token, std::string_view last_id, ReplayDone done) override;
  void latest(std::string_view token, LatestDone done) override;
  void follow(std::string_view token) override { history_.follow(token); }
  void unfollow(std::string_view token) override { history_.unfollow(token); }
  void housekeeping() override { history_.expire(now()); }
  StoreStats stats() const override { return {history_.token_count(), history_.bytes(), history_.evicted()}; }

 private:
  StoreClock::time_point now() const { return clock_ ? clock_() : StoreClock::now(); }

  TokenHistory history_;
  std::shared_ptr<IdSource> ids_;
  const Framer& framer_;
  Clock clock_;
  std::string epoch_;
  std::uint64_t appended_ = 0;
};

}  // namespace es
