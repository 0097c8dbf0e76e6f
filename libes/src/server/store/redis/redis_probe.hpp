// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// The check a server makes once, at start, before it listens: can it reach
// Redis at the --redis URL, log in, select the database, and have keyspace
// notifications for streams (so that entries added by outside programs are
// noticed)? Blocking (hiredis's synchronous API, with a timeout): it runs
// on the thread that makes the es::Server, never on the loop.

#include "server/store/redis/redis_address.hpp"

#include <chrono>
#include <string>

namespace es {

/// The keyspace notification classes the store needs: K (keyspace
/// channels) and t (stream commands); "A" includes t.
std::string with_stream_notifications(const std::string& flags);

/// "" when Redis is usable, else why not (without the password). Turns
/// keyspace notifications for streams on when they are off.
std::string probe_redis(const RedisAddress& address, std::chrono::milliseconds timeout);

}  // namespace es
