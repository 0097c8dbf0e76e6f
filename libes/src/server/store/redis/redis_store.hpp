// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// The store shared by every server on one Redis (docs/redis.md): a token's
// events are the stream PREFIX+TOKEN. XADD gives ids and order, so every
// server delivers a token's events in one order with the same ids; XRANGE
// replays them after Last-Event-ID on any server.
//
// Two connections, on the loop that runs the broker (RedisLink, no thread):
// - commands: XADD for publishes, XRANGE to read new entries of followed
//   tokens, XREVRANGE/XINFO for replays, the health PUBLISH;
// - subscriber: for each followed token its keyspace channel (an "xadd"
//   notification says the stream grew: read it from the token's cursor)
//   and its live channel PREFIX+TOKEN (tornadose's PUBLISH: live events,
//   no id, not kept), plus this server's health channel.
// A server follows only the tokens it has subscribers for, and every key
// and command names one token (a Redis Cluster can shard by token).
//
// Delivery comes from reading the stream, never from a publish's own
// answer: each followed token has a cursor (the last entry delivered), and
// a read runs from it whenever the stream may have grown (an xadd
// notification, our own XADD — pipelined right after it —, a reconnect).
// Reads of one token never overlap, so entries are delivered in order,
// once. When Redis goes away, publishes get 503, streams stay open, and
// after reconnecting (backoff 100 ms doubling to 5 s) every followed token
// is read from its cursor: nothing published meanwhile is missed.

#include "common/log.hpp"
#include "server/store/event_store.hpp"
#include "server/store/redis/host_resolver.hpp"
#include "server/store/redis/redis_address.hpp"
#include "server/store/redis/redis_link.hpp"
#include "server/store/redis/stream_entry.hpp"

#include <es/event_kind.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace es {

struct RedisStoreOptions {
  RedisAddress address;
  std::string prefix = "es:";
  const EventKind& kind;
  /// Events a replay holds at most (--history; 0 without ids).
  std::size_t history_events = 1000;
  /// Entries older than this are not replayed and are trimmed; 0 = no limit.
  std::chrono::seconds history_age{0};
  std::size_t max_body = 1 << 20;
};

class RedisStore final : public EventStore {
 public:
  /// Streams keep at least this many entries, so that a server catching up
  /// after a disconnect finds what it missed even with a small --history.
  static constexpr std::size_t min_stream_length = 1000;
  /// Entries read in one XRANGE.
  static constexpr std::size_t read_batch = 512;

  /// Checks Redis first (probe_redis): throws std::invalid_argument naming
  /// the URL (without its password) when it cannot be used.
  RedisStore(RedisStoreOptions options, const Framer& framer, const Log& log);
  ~RedisStore() override;

  bool assigns_ids() const override { return ids_; }
  bool keeps_history() const override { return true; }
  bool delivers_live() const override { return true; }
  const std::string& epoch() const override { return epoch_; }

  void start(Reactor& reactor, LiveSink sink) override;
  void stop() override;

  void append(std::string_view token, Event event, AppendDone done) override;
  void read_after(std::string_view token, std::string_view last_id, ReplayDone done) override;
  void latest(std::string_view token, LatestDone done) override;
  void follow(std::string_view token) override;
  void unfollow(std::string_view token) override;
  void when_following(std::string_view token, std::function<void()> ready) override;
  void housekeeping() override {}
  StoreStats stats() const override;
  std::string unhealthy_reason() const override;

 private:
  enum class State { idle, connecting, up, down, stopped };
  struct Follow {
    std::uint64_t generation = 0;
    StorePosition cursor;       ///< the last entry delivered (or skipped)
    bool cursor_known = false;
    bool reading = false;       ///< an XRANGE is out
    bool again = false;         ///< the stream may have grown since it was sent
    std::vector<std::function<void()>> on_cursor; ///< when_following() waiting for the cursor
  };
  struct Hash : std::hash<std::string_view> { using is_transparent = void; };
  using Follows = std::unordered_map<std::string, Follow, Hash, std::equal_to<>>;

  // The connection: connect, set up, lose, reconnect.
  /// Resolves the host off the loop if it is a name (wait_for_resolver), then open_links().
  void connect();
  void wait_for_resolver();
  /// Cancels what connect() started: its timeout and a host name's lookup.
  void abandon_connecting();
  /// Both links to `to` (numeric or unix), and the set-up commands on them.
  void open_links(const RedisAddress& to);
  void setup_step_done();
  void lost(const std::string& reason);
  void set_health(std::string reason);
  void health_tick();

  // Following tokens.
  void subscribe_channels(std::string_view verb, std::string_view token);
  void fetch_cursor(const std::string& token);
  void read_new(std::string_view token);
  void on_entries(const std::string& token, std::uint64_t generation, const redisReply* reply);
  void on_pushed(const redisReply* reply);

  /// Sends on the commands link while it is up; otherwise `handler(nullptr)`.
  void send(std::initializer_list<std::string_view> args, RedisLink::ReplyHandler handler = {});
  /// Runs `work` now if Redis is up, else once it is.
  void when_up(std::function<void()> work);
  /// Runs `work` again later: in 200 ms, or once Redis is back. Never now.
  void retry_later(std::function<void()> work);
  /// The publication of a stream entry, or null (skipped: logged and counted).
  PublicationPtr publication_of(std::string_view token, const redisReply* entry, bool* close_after);
  void skip(std::string_view token, std::string_view id, const std::string& why);
  std::string key(std::string_view token) const { return prefix_ + std::string(token); }
  std::uint64_t now_ms() const;

  const RedisAddress address_;
  const std::string prefix_;
  const std::string keyspace_prefix_; ///< "__keyspace@DB__:" + prefix
  const std::string health_channel_;
  const EntryRules rules_;
  const bool ids_;
  const std::size_t replay_limit_;
  const std::chrono::seconds history_age_;
  const std::string max_length_;
  const Framer& framer_;
  const Log& log_;
  std::string epoch_ = "redis";

  Reactor* reactor_ = nullptr;
  LiveSink live_;
  std::unique_ptr<RedisLink> commands_;
  std::unique_ptr<RedisLink> subscriber_;
  State state_ = State::idle;
  int setup_left_ = 0;
  std::string down_reason_;
  std::chrono::milliseconds backoff_{100};
  Reactor::TimerId reconnect_timer_ = 0;
  Reactor::TimerId connect_timer_ = 0;
  Reactor::TimerId resolve_timer_ = 0;
  std::unique_ptr<HostResolver> resolver_; ///< while the host name is looked up (connect())
  Reactor::TimerId health_timer_ = 0;
  Reactor::Clock::time_point down_since_{};
  Reactor::Clock::time_point last_command_answer_{};
  Reactor::Clock::time_point last_health_message_{};
  Reactor::Clock::time_point health_sent_{};
  bool health_outstanding_ = false;
  std::uint64_t health_sequence_ = 0;

  Follows follows_;
  std::uint64_t next_generation_ = 1;
  std::deque<std::function<void()>> waiting_; ///< replays asked for while Redis is down
  struct HeldAppend {
    std::string token;
    Event event;
    AppendDone done;
  };
  std::vector<HeldAppend> held_appends_; ///< publishes while connecting: sent once up, 503 if that fails

  std::uint64_t reconnects_ = 0;
  std::uint64_t skipped_ = 0;
  mutable std::mutex health_mutex_;
  std::string health_reason_ = "Redis: not connected yet";
};

}  // namespace es
