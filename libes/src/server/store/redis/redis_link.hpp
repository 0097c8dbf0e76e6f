// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// One asynchronous connection to Redis (hiredis's async API) driven by an
// event loop through the Reactor: no thread, nothing that blocks except
// resolving a host name when connecting (use an address or a unix socket
// where that matters).
//
// The adapter (hiredis calls addRead/delRead/addWrite/delWrite/cleanup)
// turns into Reactor::watch calls on the connection's descriptor. Every
// command's handler runs exactly once: with the reply, or with null when
// the connection went away first (hiredis answers pending commands so when
// it frees the context). A link that is lost stays lost: the owner makes a
// new one (RedisStore reconnects with backoff).

#include "net/reactor.hpp"
#include "server/store/redis/redis_address.hpp"

#include <functional>
#include <span>
#include <string>
#include <string_view>

struct redisAsyncContext;
struct redisReply;

namespace es {

class RedisLink final : private Reactor::IoHandler {
 public:
  /// null: the connection was lost before the reply came.
  using ReplyHandler = std::function<void(const redisReply*)>;
  struct Events {
    std::function<void()> connected;
    /// Called once, when connecting failed or the connection was lost;
    /// not called when the link is destroyed.
    std::function<void(const std::string& reason)> lost;
    /// Pub/sub pushes ("message", "subscribe", ...) on a subscribed link.
    std::function<void(const redisReply*)> pushed;
  };

  /// Starts connecting; `events.connected` or `events.lost` follows.
  RedisLink(Reactor& reactor, const RedisAddress& address, Events events);
  /// Closes the connection; pending handlers run with null first.
  ~RedisLink();
  RedisLink(const RedisLink&) = delete;
  RedisLink& operator=(const RedisLink&) = delete;

  bool up() const noexcept { return context_ != nullptr && connected_; }
  /// Sends a command (queued until connected). When the link is lost,
  /// `handler` runs with null, possibly before this returns.
  void command(std::span<const std::string_view> args, ReplyHandler handler = {});
  /// SUBSCRIBE / UNSUBSCRIBE: its confirmations and then its messages go to
  /// Events::pushed. Nothing happens when the link is lost.
  void subscription(std::span<const std::string_view> args);
  /// Ends the connection on purpose; Events::lost follows with `reason`.
  void drop(const std::string& reason);

 private:
  void on_io(std::uint32_t events) override;
  void update_watch();
  void forget_context(const std::string& reason);

  static void on_connect(const redisAsyncContext* context, int status);
  static void on_disconnect(const redisAsyncContext* context, int status);
  static void on_reply(redisAsyncContext* context, void* reply, void* handler);
  static void on_push(redisAsyncContext* context, void* reply, void* link);
  static void add_read(void* link);
  static void del_read(void* link);
  static void add_write(void* link);
  static void del_write(void* link);
  static void cleanup(void* link);

  Reactor& reactor_;
  Events events_;
  redisAsyncContext* context_ = nullptr;
  int fd_ = -1;
  bool reading_ = false;
  bool writing_ = false;
  bool connected_ = false;
  bool destroying_ = false;
  std::string drop_reason_;
  Reactor::TimerId failed_timer_ = 0;
};

/// The text of an error reply, or "" when `reply` is not one (null counts as "connection lost").
std::string reply_error(const redisReply* reply);

}  // namespace es
