// SPDX-License-Identifier: GPL-3.0-or-later
#include <es/event_id.hpp>

#include <utility>

namespace es {

std::string CounterIdSource::next(std::string_view /*token*/) {
  return std::to_string(next_++);
}

TimestampIdSource::TimestampIdSource(Clock clock) : clock_(std::move(clock)) {
  if (!clock_) clock_ = [] { return std::chrono::system_clock::now(); };
}

std::string TimestampIdSource::next(std::string_view /*token*/) {
  const auto since_epoch = clock_().time_since_epoch();
  const std::int64_t now = std::chrono::duration_cast<std::chrono::microseconds>(since_epoch).count();
  // Two events in one microsecond, or a clock set back (NTP step): the id
  // must still grow, or a client's Last-Event-ID would name the wrong event.
  last_ = now > last_ ? now : last_ + 1;
  return std::to_string(last_);
}

}  // namespace es
