// SPDX-License-Identifier: GPL-3.0-or-later
#include "server/store/redis/redis_probe.hpp"

#include <hiredis/hiredis.h>

#include <memory>
#include <string_view>
#include <vector>

namespace es {
namespace {

struct ContextFree {
  void operator()(redisContext* c) const { redisFree(c); }
};
struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Context = std::unique_ptr<redisContext, ContextFree>;
using Reply = std::unique_ptr<redisReply, ReplyFree>;

Reply run(redisContext* c, std::vector<std::string_view> args) {
  std::vector<const char*> pointers;
  std::vector<std::size_t> lengths;
  for (std::string_view a : args) {
    pointers.push_back(a.data());
    lengths.push_back(a.size());
  }
  return Reply(static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(args.size()), pointers.data(), lengths.data())));
}

/// "" for a good reply, else its problem.
std::string problem(redisContext* c, const Reply& r) {
  if (!r) return c->errstr[0] ? c->errstr : "no answer";
  if (r->type == REDIS_REPLY_ERROR) return std::string(r->str, r->len);
  return {};
}

}  // namespace

std::string with_stream_notifications(const std::string& flags) {
  std::string out = flags;
  if (out.find('K') == std::string::npos) out += 'K';
  if (out.find('t') == std::string::npos && out.find('A') == std::string::npos) out += 't';
  return out;
}

std::string probe_redis(const RedisAddress& a, std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  Context c(a.unix_path.empty() ? redisConnectWithTimeout(a.host.c_str(), a.port, tv)
                                : redisConnectUnixWithTimeout(a.unix_path.c_str(), tv));
  if (!c) return "out of memory";
  if (c->err) return c->errstr;
  redisSetTimeout(c.get(), tv);
  if (!a.password.empty()) {
    if (auto p = problem(c.get(), run(c.get(), {"AUTH", a.password})); !p.empty()) return "AUTH failed: " + p;
  }
  if (a.db != 0) {
    const std::string db = std::to_string(a.db);
    if (auto p = problem(c.get(), run(c.get(), {"SELECT", db})); !p.empty())
      return "cannot select database " + db + ": " + p;
  }
  Reply ping = run(c.get(), {"PING"});
  if (auto p = problem(c.get(), ping); !p.empty()) return p;

  // Replays need XINFO STREAM's entries-added and recorded-first-entry-id
  // to tell a gap (Redis 7.0).
  Reply info = run(c.get(), {"INFO", "server"});
  if (problem(c.get(), info).empty() && info->type == REDIS_REPLY_STRING) {
    const std::string_view text(info->str, info->len);
    constexpr std::string_view field = "redis_version:";
    if (const auto at = text.find(field); at != std::string_view::npos) {
      const std::string_view version = text.substr(at + field.size(), text.find('\r', at) - at - field.size());
      if (!version.empty() && version.front() >= '0' && version.front() < '7' && version[1] == '.')
        return "Redis 7.0 or later is needed (this one is " + std::string(version) + ")";
    }
  }

  Reply flags = run(c.get(), {"CONFIG", "GET", "notify-keyspace-events"});
  std::string current;
  if (problem(c.get(), flags).empty() && flags->type == REDIS_REPLY_ARRAY && flags->elements == 2 &&
      flags->element[1]->type == REDIS_REPLY_STRING)
    current.assign(flags->element[1]->str, flags->element[1]->len);
  const std::string wanted = with_stream_notifications(current);
  if (!flags || flags->type == REDIS_REPLY_ERROR || wanted != current) {
    Reply set = run(c.get(), {"CONFIG", "SET", "notify-keyspace-events", wanted});
    if (auto p = problem(c.get(), set); !p.empty())
      return "keyspace notifications for streams are off and CONFIG SET failed (" + p +
             "); set notify-keyspace-events to include Kt in redis.conf";
  }
  return {};
}

}  // namespace es
