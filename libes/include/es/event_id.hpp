// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// Where event ids come from: the role of event-source-library's EventId.
// An id source hands out ids that always increase for a given token. The hub
// never compares ids, it only looks them up, so any unique string will do;
// ids that sort (counters, timestamps) are friendlier to people reading logs.
//
// The two ready-made sources keep one sequence for the whole process, so ids
// also increase across tokens and nothing per token has to be remembered or
// freed. They start again after a restart: a client that reconnects with an
// id from before is told of a gap (the hub does not know its id).
//
// Thread safety: next() is not synchronised; the server calls it under the
// lock that orders a token's events, so ids and delivery order agree.

#include <es/export.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace es {

class ES_API IdSource {
 public:
  virtual ~IdSource() = default;
  /// The id for the next event published to `token`.
  virtual std::string next(std::string_view token) = 0;
};

/// 1, 2, 3, ... (event-source-library counted from 0).
class ES_API CounterIdSource final : public IdSource {
 public:
  explicit CounterIdSource(std::uint64_t first = 1) : next_(first) {}
  std::string next(std::string_view token) override;

 private:
  std::uint64_t next_;
};

/// Microseconds since the Unix epoch, bumped by one when the clock has not
/// moved on (or went back), so ids still always increase.
class ES_API TimestampIdSource final : public IdSource {
 public:
  using Clock = std::function<std::chrono::system_clock::time_point()>;
  /// `clock` is passed in so tests can drive it; the default reads the system clock.
  explicit TimestampIdSource(Clock clock = {});
  std::string next(std::string_view token) override;

 private:
  Clock clock_;
  std::int64_t last_ = 0;
};

}  // namespace es
