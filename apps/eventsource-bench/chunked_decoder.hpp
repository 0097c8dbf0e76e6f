// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// Incremental decoder of the chunked transfer coding (RFC 9112 §7.1): nginx
// frames an HTTP/1.1 event stream this way, eventsource-server does not.
// Data is handed out as views into the input: no copy.

#include <cstdint>
#include <string_view>

namespace es::bench {

class ChunkedDecoder {
 public:
  enum class Status { more, done, malformed };

  /// Decodes the next piece of the body, calling `sink(std::string_view)` for
  /// each run of data. `done` after the last chunk and its trailer.
  template <class Sink>
  Status feed(std::string_view in, Sink&& sink) {
    while (!in.empty() && state_ != State::done && state_ != State::failed) {
      if (state_ == State::data) {
        const std::size_t take = remaining_ < in.size() ? static_cast<std::size_t>(remaining_) : in.size();
        sink(in.substr(0, take));
        in.remove_prefix(take);
        remaining_ -= take;
        if (remaining_ == 0) state_ = State::data_end;
        continue;
      }
      step(in.front());
      in.remove_prefix(1);
    }
    if (state_ == State::failed) return Status::malformed;
    return state_ == State::done ? Status::done : Status::more;
  }

 private:
  enum class State { size, extension, data, data_end, trailer, done, failed };
  void step(char c) noexcept;

  State state_ = State::size;
  std::uint64_t remaining_ = 0;
  unsigned digits_ = 0;
  bool line_empty_ = true;  // in the trailer: nothing but CR on this line yet
};

}  // namespace es::bench
