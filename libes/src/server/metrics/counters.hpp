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
  bytes_written,       ///< bytes written to subscriber streams
  slow_disconnects,    ///< subscribers cut off at max_queue
  refused_connections, ///< refused for lack of descriptors
  handshake_failures,  ///< TLS handshakes that failed or did not finish in time (plain HTTP on a TLS port)
  history_bytes,       ///< gauge: bytes of history kept for replay and --latest
  history_evictions,   ///< events dropped from history to stay within --history-memory
  log_lines_dropped,   ///< log lines lost because stderr did not keep up
  redis_connected,     ///< gauge: 1 while the Redis store is connected (0 without --redis)
  redis_reconnects,    ///< connections to Redis made again after losing one
  redis_skipped_entries, ///< stream entries and messages from outside that could not be delivered
  count_
};

struct CounterSpec {
  Counter counter;
  std::string_view name;   ///< the /stats field
  bool gauge;              ///< a level that goes up and down, not a running total
  std::string_view metric; ///< the /metrics name (Prometheus conventions: _total, base units)
  std::string_view help;   ///< the /metrics HELP text
};

inline constexpr std::array<CounterSpec, static_cast<std::size_t>(Counter::count_)> counter_specs{{
    {Counter::tokens, "tokens", true, "eventsource_tokens", "Tokens with subscribers or kept history."},
    {Counter::subscribers, "subscribers", true, "eventsource_subscribers", "Open subscriber streams, by kind."},
    {Counter::connections, "connections", true, "eventsource_connections", "Open client connections of every kind."},
    {Counter::events_published, "events_published", false, "eventsource_events_published_total", "Events accepted for publishing."},
    {Counter::events_delivered, "events_delivered", false, "eventsource_events_delivered_total", "Events written completely to a subscriber."},
    {Counter::bytes_written, "bytes_written", false, "eventsource_stream_bytes_written_total", "Bytes written to subscriber streams."},
    {Counter::slow_disconnects, "slow_disconnects", false, "eventsource_slow_consumer_disconnects_total", "Subscribers cut off for lagging past --max-queue."},
    {Counter::refused_connections, "refused_connections", false, "eventsource_refused_connections_total", "Connections refused for lack of file descriptors."},
    {Counter::handshake_failures, "tls_handshake_failures", false, "eventsource_tls_handshake_failures_total", "TLS handshakes that failed or did not finish within the request timeout."},
    {Counter::history_bytes, "history_bytes", true, "eventsource_history_bytes", "Bytes kept for replay and --latest."},
    {Counter::history_evictions, "history_evictions", false, "eventsource_history_evictions_total", "Events dropped from history to stay within --history-memory."},
    {Counter::log_lines_dropped, "log_lines_dropped", false, "eventsource_log_lines_dropped_total", "Log lines lost because standard error did not keep up."},
    {Counter::redis_connected, "redis_connected", true, "eventsource_redis_connected", "1 while the Redis store is connected and set up."},
    {Counter::redis_reconnects, "redis_reconnects", false, "eventsource_redis_reconnects_total", "Connections to Redis made again after one was lost."},
    {Counter::redis_skipped_entries, "redis_skipped_entries", false, "eventsource_redis_skipped_entries_total", "Stream entries and messages from outside programs skipped as undeliverable."},
}};

/// A plain copy of the values, as read at one moment.
struct CounterSnapshot {
  std::array<std::uint64_t, static_cast<std::size_t>(Counter::count_)> values{};
  std::array<std::uint64_t, 4> subscribers_by_kind{};
  std::uint64_t operator[](Counter c) const noexcept { return values[static_cast<std::size_t>(c)]; }
};

/// One loop's counters. Written by its thread only.
class CounterTable {
 public:
  /// Open streams per subscriber kind (index = the kind's).
  std::array<std::atomic<std::uint64_t>, 4> subscribers_by_kind{};

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
  for (const CounterTable* t : tables) {
    for (const auto& spec : counter_specs) out.values[static_cast<std::size_t>(spec.counter)] += t->get(spec.counter);
    for (std::size_t k = 0; k < out.subscribers_by_kind.size(); ++k)
      out.subscribers_by_kind[k] += t->subscribers_by_kind[k].load(std::memory_order_relaxed);
  }
  return out;
}

}  // namespace es
