// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// Shared by the fuzz targets: FUZZ_CHECK (an invariant; a violation is a crash
// that libFuzzer saves), and Splitter, which cuts an input into the pieces a
// socket could have delivered it in, chosen by a few bytes of the input.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string_view>

/// A violated invariant: says which one on stderr, then traps (libFuzzer
/// reports a crash and writes the input to crash-<sha1>).
#define FUZZ_CHECK(condition)                                                          \
  do {                                                                                 \
    if (!(condition)) {                                                                \
      std::fprintf(stderr, "%s:%d: invariant violated: %s\n", __FILE__, __LINE__, #condition); \
      __builtin_trap();                                                                \
    }                                                                                  \
  } while (false)

namespace es::fuzz {

/// The first `control` bytes of a fuzz input, read one at a time (0 once
/// used up), and the rest: the bytes under test.
class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size, std::size_t control)
      : control_(reinterpret_cast<const char*>(data), size < control ? size : control),
        rest_(reinterpret_cast<const char*>(data) + control_.size(), size - control_.size()) {}

  std::uint8_t next() noexcept {
    if (used_ >= control_.size()) return 0;
    return static_cast<std::uint8_t>(control_[used_++]);
  }
  std::string_view rest() const noexcept { return rest_; }

 private:
  std::string_view control_;
  std::string_view rest_;
  std::size_t used_ = 0;
};

/// Piece sizes for feeding `total` bytes: a xorshift sequence seeded by the
/// input, so a crash reproduces, with a maximum piece size picked from
/// 1, 2, 3, 7, 16, 64, 512 or everything. Pieces of 0 bytes occur too.
class Splitter {
 public:
  Splitter(std::uint8_t seed_low, std::uint8_t seed_high, std::uint8_t shape)
      : state_(0x9E3779B9u ^ (static_cast<std::uint32_t>(seed_high) << 8 | seed_low)) {
    static constexpr std::size_t kMax[] = {1, 2, 3, 7, 16, 64, 512, static_cast<std::size_t>(-1)};
    max_ = kMax[shape & 7];
    allow_empty_ = (shape & 8) != 0;
  }

  /// The size of the next piece (at most `left`).
  std::size_t next(std::size_t left) noexcept {
    if (max_ == static_cast<std::size_t>(-1)) return left;
    state_ ^= state_ << 13;
    state_ ^= state_ >> 17;
    state_ ^= state_ << 5;
    std::size_t size = state_ % (max_ + 1);
    if (size == 0 && !allow_empty_) size = 1;
    return size < left ? size : left;
  }

 private:
  std::uint32_t state_;
  std::size_t max_;
  bool allow_empty_;
};

/// A heap copy of `bytes` of exactly their size, so that ASan sees a read
/// past the end of a piece (in the fuzzer's own buffer the next piece's
/// bytes would follow it). An empty piece is a view with no data at all
/// (a null pointer), as std::string_view{} is.
class Piece {
 public:
  explicit Piece(std::string_view bytes) {
    if (bytes.empty()) return;
    copy_ = std::make_unique<char[]>(bytes.size());
    for (std::size_t i = 0; i < bytes.size(); ++i) copy_[i] = bytes[i];
    view_ = std::string_view(copy_.get(), bytes.size());
  }
  std::string_view view() const noexcept { return view_; }

 private:
  std::unique_ptr<char[]> copy_;
  std::string_view view_;
};

}  // namespace es::fuzz
