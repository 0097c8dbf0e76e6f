// SPDX-License-Identifier: GPL-3.0-or-later
#include "server/store/redis/redis_store.hpp"

#include "common/format.hpp"
#include "server/store/redis/redis_probe.hpp"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <cstdio>
#include <limits>
#include <optional>
#include <random>
#include <stdexcept>
#include <vector>

namespace es {
namespace {

using namespace std::chrono_literals;

constexpr auto probe_timeout = 3s;
constexpr auto connect_timeout = 3s;
constexpr auto resolve_poll = 5ms; ///< how often a host name being resolved is looked at
constexpr auto health_interval = 1s;
/// /health turns 503 when a round trip is older than this.
constexpr auto health_stale = 3s;
/// A connection that answers nothing for this long is dropped and made again.
constexpr auto answer_timeout = 10s;
constexpr auto max_backoff = 5000ms;

std::string_view text_of(const redisReply* r) {
  if (!r || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS)) return {};
  return {r->str, r->len};
}

std::string random_nonce() {
  std::random_device random;
  char text[17];
  std::snprintf(text, sizeof text, "%08x%08x", random(), random());
  return text;
}

/// Returns `map`'s value for `name` in a flat [name, value, ...] reply (XINFO STREAM).
const redisReply* field(const redisReply* map, std::string_view name) {
  if (!map || map->type != REDIS_REPLY_ARRAY) return nullptr;
  for (std::size_t i = 0; i + 1 < map->elements; i += 2)
    if (text_of(map->element[i]) == name) return map->element[i + 1];
  return nullptr;
}

bool is_loading(const redisReply* r) {
  return r && r->type == REDIS_REPLY_ERROR && std::string_view(r->str, r->len).starts_with("LOADING");
}

Appended failed(std::string message) {
  Appended a;
  a.failure = PublishStatus::not_running;
  a.message = std::move(message);
  return a;
}

}  // namespace

RedisStore::RedisStore(RedisStoreOptions o, const Framer& framer, const Log& log)
    : address_(std::move(o.address)),
      prefix_(std::move(o.prefix)),
      keyspace_prefix_("__keyspace@" + std::to_string(address_.db) + "__:" + prefix_),
      health_channel_(prefix_ + "\x1f" "health:" + random_nonce()),
      rules_{o.kind, o.max_body},
      ids_(o.kind.ids != nullptr),
      replay_limit_(o.kind.ids ? std::max<std::size_t>(o.history_events, 1) : 0),
      history_age_(o.history_age),
      max_length_(std::to_string(std::max(o.history_events, min_stream_length))),
      framer_(framer),
      log_(log) {
  if (std::string problem = probe_redis(address_, probe_timeout); !problem.empty())
    throw std::invalid_argument("Redis at " + address_.display + ": " + problem);
}

RedisStore::~RedisStore() { stop(); }

std::uint64_t RedisStore::now_ms() const {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

// ---------------------------------------------------------------------------
// The connection

void RedisStore::start(Reactor& reactor, LiveSink sink) {
  reactor_ = &reactor;
  live_ = std::move(sink);
  connect();
  health_timer_ = reactor_->call_after(health_interval, [this] { health_tick(); });
}

void RedisStore::stop() {
  if (state_ == State::stopped || !reactor_) {
    state_ = State::stopped;
    return;
  }
  state_ = State::stopped;
  for (auto& a : held_appends_) a.done(failed("Server is shutting down"));
  held_appends_.clear();
  reactor_->cancel(reconnect_timer_);
  reactor_->cancel(health_timer_);
  abandon_connecting();
  waiting_.clear();
  // Destroying a link answers its pending commands (publishes get 503).
  commands_.reset();
  subscriber_.reset();
  set_health("Redis: the server is stopping");
}

void RedisStore::connect() {
  state_ = State::connecting;
  setup_left_ = 2; // the commands link's setup, the subscriber link's subscriptions
  // First: a link that fails at once calls lost() from inside this function.
  reactor_->cancel(connect_timer_);
  connect_timer_ = reactor_->call_after(connect_timeout, [this] {
    connect_timer_ = 0;
    if (state_ != State::connecting) return;
    lost(resolver_ ? "no address for " + address_.host + " within 3 s (is DNS answering?)" : "no answer within 3 s");
  });
  if (address_.unix_path.empty() && !HostResolver::is_numeric(address_.host)) {
    resolver_ = std::make_unique<HostResolver>(address_.host);
    return wait_for_resolver();
  }
  open_links(address_);
}

void RedisStore::abandon_connecting() {
  reactor_->cancel(connect_timer_);
  connect_timer_ = 0;
  reactor_->cancel(resolve_timer_);
  resolve_timer_ = 0;
  resolver_.reset();
}

void RedisStore::wait_for_resolver() {
  // Polled: most names come from /etc/hosts or a cache within the first
  // interval; the connect timeout above bounds a resolver that hangs.
  std::optional<Result<std::string>> found = resolver_->result();
  if (!found) {
    resolve_timer_ = reactor_->call_after(resolve_poll, [this] {
      resolve_timer_ = 0;
      if (state_ == State::connecting && resolver_) wait_for_resolver();
    });
    return;
  }
  resolver_.reset();
  if (!*found) return lost(found->error());
  RedisAddress resolved = address_;
  resolved.host = std::move(*found).value();
  open_links(resolved);
}

void RedisStore::open_links(const RedisAddress& to) {
  const auto on_lost = [this](const std::string& reason) { lost(reason); };
  commands_ = std::make_unique<RedisLink>(*reactor_, to, RedisLink::Events{{}, on_lost, {}});
  subscriber_ = std::make_unique<RedisLink>(*reactor_, to,
                                            RedisLink::Events{{}, on_lost, [this](const redisReply* r) { on_pushed(r); }});

  const auto check = [this](std::string what) {
    return [this, what](const redisReply* r) {
      // null: the link reports why it went away itself.
      if (r && r->type == REDIS_REPLY_ERROR && state_ == State::connecting) lost(what + ": " + reply_error(r));
    };
  };
  const std::string db = std::to_string(address_.db);
  for (RedisLink* link : {commands_.get(), subscriber_.get()}) {
    if (!address_.password.empty()) {
      const std::string_view auth[] = {"AUTH", address_.password};
      link->command(auth, check("AUTH failed"));
    }
    if (address_.db != 0) {
      const std::string_view select[] = {"SELECT", db};
      link->command(select, check("cannot select database " + db));
    }
  }
  // Redis may have restarted without our configuration: turn keyspace
  // notifications for streams on again when they are off.
  const std::string_view get[] = {"CONFIG", "GET", "notify-keyspace-events"};
  commands_->command(get, [this](const redisReply* r) {
    if (!r || state_ != State::connecting) return;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) return lost("CONFIG GET failed: " + reply_error(r));
    const std::string current(text_of(r->element[1]));
    const std::string wanted = with_stream_notifications(current);
    if (wanted == current) return setup_step_done();
    const std::string_view set[] = {"CONFIG", "SET", "notify-keyspace-events", wanted};
    commands_->command(set, [this](const redisReply* s) {
      if (!s || state_ != State::connecting) return;
      if (std::string error = reply_error(s); !error.empty()) return lost("cannot turn keyspace notifications on: " + error);
      setup_step_done();
    });
  });

  // Every followed token's channels, then the health channel: its
  // confirmation comes last, once every token's subscription is in place.
  std::vector<std::string> channels;
  channels.reserve(follows_.size() * 2 + 1);
  for (const auto& [token, f] : follows_) {
    channels.push_back(prefix_ + token);
    channels.push_back(keyspace_prefix_ + token);
  }
  channels.push_back(health_channel_);
  std::vector<std::string_view> args{"SUBSCRIBE"};
  for (const std::string& c : channels) args.push_back(c);
  subscriber_->subscription(args);

}

void RedisStore::setup_step_done() {
  if (state_ != State::connecting || --setup_left_ > 0) return;
  state_ = State::up;
  reactor_->cancel(connect_timer_);
  connect_timer_ = 0;
  const auto now = reactor_->now();
  last_command_answer_ = last_health_message_ = now;
  health_outstanding_ = false;
  backoff_ = 100ms;
  if (reconnects_ == 0 && down_since_ == Reactor::Clock::time_point{}) {
    log_.info("redis: connected to " + address_.display);
  } else {
    ++reconnects_;
    log_.info("redis: connected to " + address_.display + " again after " + format_duration(now - down_since_) +
              "; catching up " + std::to_string(follows_.size()) + " tokens");
  }
  set_health({});
  // Tokens followed while Redis was away have no cursor yet. The others
  // were read again when their keyspace channel's subscription was
  // confirmed (on_pushed), from their cursor.
  // Those with a cursor are read from it: what others published meanwhile.
  for (auto& [token, f] : follows_) {
    if (!f.cursor_known)
      fetch_cursor(token);
    else
      read_new(token);
  }
  std::deque<std::function<void()>> work;
  work.swap(waiting_);
  for (auto& w : work) w();
  std::vector<HeldAppend> appends;
  appends.swap(held_appends_);
  for (auto& a : appends) append(a.token, std::move(a.event), std::move(a.done));
}

void RedisStore::lost(const std::string& reason) {
  if (state_ == State::stopped || state_ == State::down) return;
  const bool was_up = state_ == State::up;
  const bool first = state_ == State::connecting && down_since_ == Reactor::Clock::time_point{} && reconnects_ == 0;
  state_ = State::down;
  down_reason_ = reason;
  if (was_up || first) {
    down_since_ = reactor_->now();
    log_.warn("redis: lost the connection to " + address_.display + " (" + reason +
              "); publishes answer 503 and streams stay open until it is back");
  } else if (log_.debugging()) {
    log_.debug("redis: reconnecting to " + address_.display + " failed (" + reason + ")");
  }
  set_health("Redis is unavailable (" + address_.display + "): " + reason);
  std::vector<std::function<void()>> released;
  for (auto& [token, f] : follows_) {
    f.reading = false; // their replies will not come
    for (auto& ready : f.on_cursor) released.push_back(std::move(ready));
    f.on_cursor.clear();
  }
  abandon_connecting();
  // Never free a link from inside its own callback: later, on the loop.
  reactor_->cancel(reconnect_timer_);
  reconnect_timer_ = reactor_->call_after(0ms, [this] {
    commands_.reset();
    subscriber_.reset();
    reconnect_timer_ = reactor_->call_after(backoff_, [this] {
      reconnect_timer_ = 0;
      if (state_ == State::down) connect();
    });
    backoff_ = std::min(backoff_ * 2, max_backoff);
  });
  for (auto& ready : released) ready(); // streams waiting for a cursor open now (see when_following)
  std::vector<HeldAppend> appends;
  appends.swap(held_appends_);
  for (auto& a : appends)
    a.done(failed("Redis is unavailable (" + address_.display + "): " + reason + "; the event was not accepted"));
}

void RedisStore::set_health(std::string reason) {
  std::lock_guard lock(health_mutex_);
  health_reason_ = std::move(reason);
}

void RedisStore::health_tick() {
  health_timer_ = reactor_->call_after(health_interval, [this] { health_tick(); });
  if (state_ != State::up) return;
  const auto now = reactor_->now();
  if (health_outstanding_ && now - health_sent_ > answer_timeout) return lost("no answer for 10 s");
  if (now - last_command_answer_ > health_stale)
    set_health("Redis: no answer to commands for " + format_duration(now - last_command_answer_));
  else if (now - last_health_message_ > health_stale)
    set_health("Redis: no pub/sub message received for " + format_duration(now - last_health_message_));
  else
    set_health({});
  if (health_outstanding_) return;
  health_outstanding_ = true;
  health_sent_ = now;
  const std::string sequence = std::to_string(++health_sequence_);
  send({"PUBLISH", health_channel_, sequence}, [this](const redisReply* r) {
    health_outstanding_ = false;
    if (r && r->type != REDIS_REPLY_ERROR) last_command_answer_ = reactor_->now();
  });
}

std::string RedisStore::unhealthy_reason() const {
  std::lock_guard lock(health_mutex_);
  return health_reason_;
}

StoreStats RedisStore::stats() const {
  StoreStats s;
  s.tokens = follows_.size();
  s.redis = true;
  s.redis_connected = state_ == State::up;
  s.redis_reconnects = reconnects_;
  s.skipped_entries = skipped_;
  return s;
}

void RedisStore::send(std::initializer_list<std::string_view> args, RedisLink::ReplyHandler handler) {
  if (state_ != State::up || !commands_) {
    if (handler) handler(nullptr);
    return;
  }
  commands_->command(std::span<const std::string_view>(args.begin(), args.size()), std::move(handler));
}

void RedisStore::retry_later(std::function<void()> work) {
  if (state_ == State::stopped) return;
  if (state_ == State::up) {
    // Still "up" while the link dies (its lost() comes after the pending
    // answers), or Redis is loading: look again in a moment.
    reactor_->call_after(std::chrono::milliseconds(200), [this, work = std::move(work)]() mutable { when_up(std::move(work)); });
    return;
  }
  waiting_.push_back(std::move(work));
}

void RedisStore::when_up(std::function<void()> work) {
  if (state_ == State::up) return work();
  if (state_ != State::stopped) waiting_.push_back(std::move(work));
}

// ---------------------------------------------------------------------------
// Publishing and replaying

void RedisStore::append(std::string_view token, Event event, AppendDone done) {
  if (state_ == State::connecting) {
    // A connection being made (at start, or after a loss) is usually up
    // within milliseconds: the publish waits for it rather than fail.
    held_appends_.push_back({std::string(token), std::move(event), std::move(done)});
    return;
  }
  if (state_ != State::up)
    return done(failed("Redis is unavailable (" + address_.display + "): " + down_reason_ +
                       "; the event was not accepted"));
  std::string retry_text;
  const std::vector<EntryField> fields = entry_fields(event, retry_text);
  const std::string stream = key(token);
  std::vector<std::string_view> args{"XADD", stream, "MAXLEN", "~", max_length_, "*"};
  for (const auto& [name, value] : fields) {
    args.push_back(name);
    args.push_back(value);
  }
  commands_->command(args, [this, done = std::move(done), stream](const redisReply* r) {
    if (!r) return done(failed("Redis is unavailable (" + address_.display +
                               "): the connection was lost before Redis confirmed the event, which may or may not be stored"));
    if (r->type == REDIS_REPLY_ERROR)
      return done(failed("Redis refused the event for " + stream + ": " + std::string(r->str, r->len)));
    last_command_answer_ = reactor_->now();
    const std::string_view id = text_of(r);
    auto position = parse_entry_id(id);
    if (!position) return done(failed("Redis answered XADD with \"" + std::string(id) + "\", not an entry id"));
    auto p = std::make_shared<Publication>();
    if (ids_) p->id = std::string(id);
    p->position = *position;
    p->at = StoreClock::now();
    Appended a;
    a.publication = std::move(p);
    done(std::move(a));
  });
  if (history_age_.count() > 0) {
    const std::string cutoff = std::to_string(now_ms() - static_cast<std::uint64_t>(history_age_.count()) * 1000);
    send({"XTRIM", stream, "MINID", "~", cutoff});
  }
  // Pipelined after the XADD: the read sees the new entry.
  read_new(token);
}

PublicationPtr RedisStore::publication_of(std::string_view token, const redisReply* entry, bool* close_after) {
  if (!entry || entry->type != REDIS_REPLY_ARRAY || entry->elements != 2) return nullptr;
  const std::string_view id = text_of(entry->element[0]);
  auto position = parse_entry_id(id);
  if (!position) return nullptr;
  const redisReply* list = entry->element[1];
  std::vector<EntryField> fields;
  if (list && list->type == REDIS_REPLY_ARRAY)
    for (std::size_t i = 0; i + 1 < list->elements; i += 2)
      fields.emplace_back(text_of(list->element[i]), text_of(list->element[i + 1]));
  Result<StreamEvent> made = event_from_entry(fields, rules_);
  if (!made) {
    skip(token, id, made.error());
    return nullptr;
  }
  if (ids_) made.value().event.id = std::string(id);
  if (auto reason = framer_.invalid_reason(made->event); !reason.empty()) {
    skip(token, id, reason);
    return nullptr;
  }
  auto framed = framer_.frame(made->event, *position, StoreClock::now());
  if (!framed) {
    skip(token, id, framed.error());
    return nullptr;
  }
  if (close_after) *close_after = made->close_after;
  return *framed;
}

void RedisStore::skip(std::string_view token, std::string_view id, const std::string& why) {
  ++skipped_;
  log_.warn("redis: skipped entry " + std::string(id) + " of " + key(token) + ": " + why);
}

void RedisStore::read_after(std::string_view token, std::string_view last_id, ReplayDone done) {
  if (last_id.empty()) return done(Replay{false, {}, epoch_, std::nullopt});
  when_up([this, token = std::string(token), last_id = std::string(last_id), done = std::move(done)]() mutable {
    const std::string stream = key(token);
    const auto last = parse_entry_id(last_id);
    const std::string limit = std::to_string(replay_limit_ + 1);
    struct StreamInfo {
      bool known = false;  ///< XINFO answered
      bool exists = false;
      std::optional<StorePosition> first, generated;
      long long length = 0;
      bool trimmed = false; ///< entries were added that are no longer there
    };
    auto info = std::make_shared<StreamInfo>();
    if (last) {
      send({"XINFO", "STREAM", stream}, [info](const redisReply* r) {
        if (!r) return;
        info->known = true;
        if (r->type != REDIS_REPLY_ARRAY) return; // "no such key"
        info->exists = true;
        if (auto p = parse_entry_id(text_of(field(r, "recorded-first-entry-id")))) info->first = *p;
        if (auto p = parse_entry_id(text_of(field(r, "last-generated-id")))) info->generated = *p;
        const redisReply* added = field(r, "entries-added");
        const redisReply* length = field(r, "length");
        if (length && length->type == REDIS_REPLY_INTEGER) info->length = length->integer;
        info->trimmed = added && added->type == REDIS_REPLY_INTEGER && added->integer > info->length;
      });
    }
    // Newest first, one more than a replay holds: more than that after
    // last_id means some are not replayed (a gap).
    const std::string after = last ? "(" + last_id : "-";
    send({"XREVRANGE", stream, "+", after, "COUNT", limit},
         [this, token, last, last_id, info, done = std::move(done)](const redisReply* r) mutable {
           if (!r || (last && !info->known) || is_loading(r)) {
             // Lost on the way (or Redis still loading its data): ask again
             // once it is back, never from inside this callback (hiredis
             // answers every pending command with null while the link dies).
             retry_later([this, token, last_id, done = std::move(done)]() mutable {
               read_after(token, last_id, std::move(done));
             });
             return;
           }
           Replay replay;
           replay.epoch = epoch_;
           if (last) replay.after = *last;
           if (r->type != REDIS_REPLY_ARRAY) {
             log_.warn("redis: cannot replay " + key(token) + ": " + reply_error(r));
             replay.gap = true;
             return done(std::move(replay));
           }
           if (!last) {
             replay.gap = true; // not an id of ours: everything kept may be news
           } else if (!info->exists) {
             replay.gap = true; // the stream is gone (deleted, expired, Redis emptied)
           } else if (info->generated && *last > *info->generated) {
             replay.gap = true; // an id from a stream since deleted and made again
           } else if (info->trimmed) {
             // Entries were trimmed: those after last_id too, unless last_id
             // is at or after the first kept one (or the newest, all gone).
             const bool all_after_kept = info->length > 0 ? info->first && *last >= *info->first
                                                          : info->generated && *last >= *info->generated;
             replay.gap = !all_after_kept;
           }
           std::size_t count = r->elements;
           if (count > replay_limit_) {
             count = replay_limit_;
             replay.gap = true;
           }
           const std::uint64_t oldest_ms =
               history_age_.count() > 0 ? now_ms() - static_cast<std::uint64_t>(history_age_.count()) * 1000 : 0;
           for (std::size_t i = count; i-- > 0;) {
             const redisReply* entry = r->element[i];
             if (oldest_ms && entry->elements == 2) {
               auto position = parse_entry_id(text_of(entry->element[0]));
               if (position && position->major < oldest_ms) {
                 replay.gap = true;
                 continue;
               }
             }
             if (PublicationPtr p = publication_of(token, entry, nullptr)) replay.events.push_back(std::move(p));
           }
           done(std::move(replay));
         });
  });
}

void RedisStore::latest(std::string_view token, LatestDone done) {
  when_up([this, token = std::string(token), done = std::move(done)]() mutable {
    send({"XREVRANGE", key(token), "+", "-", "COUNT", "1"}, [this, token, done = std::move(done)](const redisReply* r) mutable {
      if (!r || is_loading(r)) {
        retry_later([this, token, done = std::move(done)]() mutable { latest(token, std::move(done)); });
        return;
      }
      if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) return done(nullptr);
      done(publication_of(token, r->element[0], nullptr));
    });
  });
}

// ---------------------------------------------------------------------------
// Following tokens

void RedisStore::follow(std::string_view token) {
  auto [it, added] = follows_.try_emplace(std::string(token));
  if (!added) return;
  it->second.generation = next_generation_++;
  // While connecting, the link queues the subscription behind the first
  // one; while down, connect() subscribes every followed token.
  if (state_ == State::up || state_ == State::connecting) subscribe_channels("SUBSCRIBE", token);
  if (state_ == State::up) fetch_cursor(it->first); // else once set up (setup_step_done)
}

void RedisStore::unfollow(std::string_view token) {
  auto it = follows_.find(token);
  if (it == follows_.end()) return;
  follows_.erase(it);
  if (state_ == State::up || state_ == State::connecting) subscribe_channels("UNSUBSCRIBE", token);
}

void RedisStore::subscribe_channels(std::string_view verb, std::string_view token) {
  if (!subscriber_) return;
  const std::string live = prefix_ + std::string(token);
  const std::string keyspace = keyspace_prefix_ + std::string(token);
  const std::string_view args[] = {verb, live, keyspace};
  subscriber_->subscription(args);
}

void RedisStore::fetch_cursor(const std::string& token) {
  const std::uint64_t generation = follows_.at(token).generation;
  send({"XREVRANGE", key(token), "+", "-", "COUNT", "1"}, [this, token, generation](const redisReply* r) {
    auto it = follows_.find(token);
    if (!r || it == follows_.end() || it->second.generation != generation) return; // null: fetched again once up
    if (r->type != REDIS_REPLY_ARRAY) {
      // LOADING after a restart, or a key that is not a stream: try again
      // shortly rather than start from a made-up cursor.
      if (!is_loading(r)) log_.warn("redis: cannot read the end of " + key(token) + ": " + reply_error(r));
      reactor_->call_after(std::chrono::milliseconds(500), [this, token, generation] {
        auto again = follows_.find(token);
        if (again != follows_.end() && again->second.generation == generation && !again->second.cursor_known &&
            state_ == State::up)
          fetch_cursor(token);
      });
      return;
    }
    Follow& f = it->second;
    f.cursor = {};
    if (r->type == REDIS_REPLY_ARRAY && r->elements > 0 && r->element[0]->type == REDIS_REPLY_ARRAY &&
        r->element[0]->elements == 2)
      if (auto p = parse_entry_id(text_of(r->element[0]->element[0]))) f.cursor = *p;
    f.cursor_known = true;
    std::vector<std::function<void()>> waiting;
    waiting.swap(f.on_cursor);
    const bool again = f.again;
    for (auto& ready : waiting) ready(); // may unfollow (a hook ends the stream)
    if (again) read_new(token);
  });
}

void RedisStore::when_following(std::string_view token, std::function<void()> ready) {
  auto it = follows_.find(token);
  // While Redis is away nothing can be promised: the stream opens now, and
  // its cursor is read once Redis is back. While connecting (at start, or
  // an attempt under way) it waits: the cursor comes once set up, or the
  // attempt fails and lost() opens it.
  if (it == follows_.end() || it->second.cursor_known || (state_ != State::up && state_ != State::connecting))
    return ready();
  it->second.on_cursor.push_back(std::move(ready));
}

void RedisStore::read_new(std::string_view token) {
  auto it = follows_.find(token);
  if (it == follows_.end()) return;
  Follow& f = it->second;
  if (state_ != State::up || !f.cursor_known || f.reading) {
    f.again = true;
    return;
  }
  f.reading = true;
  f.again = false;
  const std::string from = "(" + format_entry_id(f.cursor);
  const std::string count = std::to_string(read_batch);
  send({"XRANGE", key(token), from, "+", "COUNT", count},
       [this, token = it->first, generation = f.generation](const redisReply* r) { on_entries(token, generation, r); });
}

void RedisStore::on_entries(const std::string& token, std::uint64_t generation, const redisReply* r) {
  const auto current = [&]() -> Follow* {
    auto it = follows_.find(token);
    return it != follows_.end() && it->second.generation == generation ? &it->second : nullptr;
  };
  Follow* f = current();
  if (!f) return;
  f->reading = false;
  if (!r) {
    f->again = true; // read again from the cursor after reconnecting
    return;
  }
  if (r->type != REDIS_REPLY_ARRAY) {
    if (!is_loading(r)) log_.warn("redis: cannot read " + key(token) + ": " + reply_error(r));
    f->again = true;
    reactor_->call_after(std::chrono::milliseconds(500), [this, token = token] { read_new(token); });
    return;
  }
  last_command_answer_ = reactor_->now();
  for (std::size_t i = 0; i < r->elements; ++i) {
    const redisReply* entry = r->element[i];
    if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2) continue;
    auto position = parse_entry_id(text_of(entry->element[0]));
    if (!position || *position <= f->cursor) continue;
    f->cursor = *position;
    bool close_after = false;
    PublicationPtr p = publication_of(token, entry, &close_after);
    if (!p) continue;
    live_(token, p, close_after);
    f = current(); // delivering may have ended the last stream (close)
    if (!f) return;
  }
  if (r->elements >= read_batch || f->again) read_new(token);
}

void RedisStore::on_pushed(const redisReply* r) {
  if (r->type != REDIS_REPLY_ARRAY || r->elements < 3) return;
  const std::string_view kind = text_of(r->element[0]);
  const std::string_view channel = text_of(r->element[1]);
  if (kind == "message") {
    if (channel == health_channel_) {
      last_health_message_ = reactor_->now();
      return;
    }
    if (channel.starts_with(keyspace_prefix_)) {
      if (text_of(r->element[2]) == "xadd") read_new(channel.substr(keyspace_prefix_.size()));
      return;
    }
    if (!channel.starts_with(prefix_)) return;
    const std::string_view token = channel.substr(prefix_.size());
    if (follows_.find(token) == follows_.end()) return;
    auto event = event_from_message(text_of(r->element[2]), rules_);
    if (!event) {
      ++skipped_;
      log_.warn("redis: skipped a message published to " + std::string(channel) + ": " + event.error());
      return;
    }
    if (auto reason = framer_.invalid_reason(*event); !reason.empty()) {
      ++skipped_;
      log_.warn("redis: skipped a message published to " + std::string(channel) + ": " + reason);
      return;
    }
    // Live events are not in the stream: the largest position, so that a
    // subscriber whose replay is pending never drops one as already replayed.
    constexpr auto unplaced = std::numeric_limits<std::uint64_t>::max();
    auto framed = framer_.frame(*event, StorePosition{unplaced, unplaced}, StoreClock::now());
    if (framed) live_(token, *framed, false);
    return;
  }
  if (kind == "subscribe") {
    if (channel == health_channel_) {
      if (state_ == State::connecting) setup_step_done();
    } else if (channel.starts_with(keyspace_prefix_)) {
      // Subscribed (again): anything added before this was not notified.
      read_new(channel.substr(keyspace_prefix_.size()));
    }
  }
}

}  // namespace es
