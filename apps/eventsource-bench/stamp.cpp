// SPDX-License-Identifier: GPL-3.0-or-later
#include "stamp.hpp"

#include <charconv>

namespace es::bench {

namespace {

// Where each field's digits start, and how many there are.
constexpr std::size_t seq_at = 4, seq_digits = 10;
constexpr std::size_t pub_at = 19, pub_digits = 3;
constexpr std::size_t time_at = 25, time_digits = 20;
constexpr std::string_view blank = "seq=0000000000 pub=000 t=00000000000000000000 ";
static_assert(blank.size() == stamp_size);
static_assert(time_at + time_digits + 1 == stamp_size);

void put_digits(char* out, std::size_t width, std::uint64_t value) noexcept {
  for (std::size_t i = width; i-- > 0;) {
    out[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

template <class T>
bool get_digits(std::string_view data, std::size_t at, std::size_t width, T& value) noexcept {
  const char* first = data.data() + at;
  const auto [end, ec] = std::from_chars(first, first + width, value);
  return ec == std::errc() && end == first + width;
}

}  // namespace

void write_stamp(std::string& data, const Stamp& stamp) noexcept {
  put_digits(data.data() + seq_at, seq_digits, stamp.seq);
  put_digits(data.data() + pub_at, pub_digits, stamp.publisher);
  put_digits(data.data() + time_at, time_digits, stamp.send_ns);
}

std::string make_event_data(std::size_t size) {
  std::string data(blank);
  if (size > data.size()) data.append(size - data.size(), 'x');
  return data;
}

std::optional<Stamp> read_stamp(std::string_view data) noexcept {
  if (data.size() < stamp_size || data.substr(0, seq_at) != blank.substr(0, seq_at)) return std::nullopt;
  Stamp stamp;
  if (!get_digits(data, seq_at, seq_digits, stamp.seq) || !get_digits(data, pub_at, pub_digits, stamp.publisher) ||
      !get_digits(data, time_at, time_digits, stamp.send_ns))
    return std::nullopt;
  return stamp;
}

}  // namespace es::bench
