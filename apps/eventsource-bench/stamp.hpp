// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// What each published event carries so that a subscriber can measure it: its
// sequence number on its token, the publisher that sent it, and the send time.
// Fixed width at the start of the data, padded with 'x' to the event size:
//   seq=0000000042 pub=003 t=00000001234567890123 xxxx…

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace es::bench {

struct Stamp {
  std::uint32_t seq = 0;
  std::uint32_t publisher = 0;
  std::uint64_t send_ns = 0;
};

/// The smallest event size that holds a stamp.
inline constexpr std::size_t stamp_size = 46;

/// Writes `stamp` over the first stamp_size bytes of `data` (which has at least that many).
void write_stamp(std::string& data, const Stamp& stamp) noexcept;
/// A data of `size` bytes: a zero stamp and the padding.
std::string make_event_data(std::size_t size);
/// The stamp at the start of `data`, or nullopt if there is none (an event the bench did not send).
std::optional<Stamp> read_stamp(std::string_view data) noexcept;

}  // namespace es::bench
