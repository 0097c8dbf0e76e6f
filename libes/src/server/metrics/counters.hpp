// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// The server's counters, in one table (h2o's per-thread status producers):
// each event loop owns a CounterTable that only its thread writes, anyone
// reads them with relaxed loads (a snapshot need not be consistent across
// fields), and sum() adds the tables of every loop into one snapshot. The
// list of counters below is the only one: GET /stats (and later /metrics)
// renders it by walking `counter_specs`, never by naming fields by hand.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace es {

enum class Counter : std::size_t {
  tokens,              ///< gauge: tokens with subscribers on this loop
  subscribers,         ///< gauge: open subscriber streams
  connections,         ///< gauge: open connections of every kind
  events_published,    ///< accepted publishes
  events_delivered,    ///< events written completely to a subscriber
  slow_disconnects,    ///< subscribers cut off at max_queue
  refused_connections, ///< refused for lack of descriptors
  history_bytes,       ///< gauge: bytes of history kept for replay and --latest
  history_evictions,   ///< events dropped from history to stay within --history-memory
  log_lines_dropped,   ///< log lines lost because stderr did not keep up
  count_
};

struct CounterSpec {
  Counter counter;
  std::string_view name; ///< the /stats field
  bool gauge;            ///< a level that goes up and down, not a running total
};

inline constexpr std::array<CounterSpec, static_cast<std::size_t>(Counter::count_)> counter_specs{{
    {Counter::tokens, "tokens", true},
    {Counter::subscribers, "subscribers", true},
    {Counter::connections, "connections", true},
    {Counter::events_published, "events_published", false},
    {Counter::events_delivered, "events_delivered", false},
    {Counter::slow_disconnects, "slow_disconnects", false},
    {Counter::refused_connections, "refused_connections", false},
    {Counter::history_bytes, "history_bytes", true},
    {Counter::history_evictions, "history_evictions", false},
    {Counter::log_lines_dropped, "log_lines_dropped", false},
}};

/// A plain copy of the values, as read at one moment.
struct CounterSnapshot {
  std::array<std::uint64_t, static_cast<std::size_t>(Counter::count_)> values{};
  std::uint64_t operator[](Counter c) const noexcept { return values[static_cast<std::size_t>(c)]; }
};

/// One loop's counters. Written by its thread only.
class CounterTable {
 public:
  void set(Counter c, std::uint64_t value) noexcept { slot(c).store(value, std::memory_order_relaxed); }
  void add(Counter c, std::uint64_t n = 1) noexcept {
    // One writer: a load and a store, no locked read-modify-write.
    auto& s = slot(c);
    s.store(s.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  std::uint64_t get(Counter c) const noexcept { return slots_[static_cast<std::size_t>(c)].load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t>& slot(Counter c) noexcept { return slots_[static_cast<std::size_t>(c)]; }
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(Counter::count_)> slots_{};
};

/// The sum over every loop's table.
inline CounterSnapshot sum(std::span<const CounterTable* const> tables) noexcept {
  CounterSnapshot out;
  for (const CounterTable* t : tables)
    for (const auto& spec : counter_specs) out.values[static_cast<std::size_t>(spec.counter)] += t->get(spec.counter);
  return out;
}

}  // namespace es
