// SPDX-License-Identifier: GPL-3.0-or-later
// Fuzz target: the request-target helpers (libes/src/http/request_target.cpp):
// split_target, two_segments, percent_decode, query_parameter.
//
// Input: 1 control byte (bit 0: '+' is a blank for percent_decode; bits 1-7:
// length of the query parameter's name, taken from the end), then a target.
//
// Checks:
// - split_target: only for a target starting with '/'; path and query put
//   back together are the target; the path holds no '?';
// - two_segments: "/" first "/" second is the path, both non-empty, no '/';
// - percent_decode: succeeds exactly when every '%' is followed by two hex
//   digits; each escape makes one byte; encoding the result and decoding it
//   again gives it back; without '%' (and '+') the text is unchanged;
// - query_parameter: the same answer as a plain reading of the query.

#include "fuzz_support.hpp"

#include "http/request_target.hpp"

#include <optional>
#include <string>

namespace {

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

bool well_encoded(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') continue;
    if (i + 2 >= s.size()) return false;
    if (!is_hex(s[i + 1]) || !is_hex(s[i + 2])) return false;
    i += 2;
  }
  return true;
}

std::string encode_every_byte(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    out += '%';
    out += kHex[u >> 4];
    out += kHex[u & 15];
  }
  return out;
}

// query_parameter as the contract says it: the first pair whose key is
// `name` exactly; its value percent-decoded with '+' as a blank.
std::optional<std::string> reference_query_parameter(std::string_view query, std::string_view name) {
  std::size_t start = 0;
  while (start < query.size()) {
    std::size_t end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    const std::string_view pair = query.substr(start, end - start);
    start = end + 1;
    const std::size_t eq = pair.find('=');
    if (pair.substr(0, eq) != name) continue;
    return es::http::percent_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1), true);
  }
  return std::nullopt;
}

void check_decode(std::string_view s, bool plus_is_space) {
  const std::optional<std::string> decoded = es::http::percent_decode(es::fuzz::Piece(s).view(), plus_is_space);
  FUZZ_CHECK(decoded.has_value() == well_encoded(s));
  if (!decoded) return;
  std::size_t escapes = 0;
  for (char c : s) escapes += c == '%';
  FUZZ_CHECK(decoded->size() == s.size() - 2 * escapes);
  const auto again = es::http::percent_decode(encode_every_byte(*decoded), plus_is_space);
  FUZZ_CHECK(again && *again == *decoded);
  if (escapes == 0) {
    std::string expected(s);
    if (plus_is_space)
      for (char& c : expected)
        if (c == '+') c = ' ';
    FUZZ_CHECK(*decoded == expected);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  es::fuzz::Input input(data, size, 1);
  const std::uint8_t control = input.next();
  const bool plus_is_space = (control & 1) != 0;
  std::string_view target = input.rest();
  const std::size_t name_length = std::min<std::size_t>(control >> 1, target.size());
  const std::string_view name = target.substr(target.size() - name_length);
  target.remove_suffix(name_length);

  const es::fuzz::Piece target_copy(target);
  const auto split = es::http::split_target(target_copy.view());
  FUZZ_CHECK(split.has_value() == (!target.empty() && target.front() == '/'));
  check_decode(target, plus_is_space);
  if (!split) return 0;

  FUZZ_CHECK(split->path.find('?') == std::string_view::npos);
  const bool has_query = target.find('?') != std::string_view::npos;
  FUZZ_CHECK(std::string(split->path) + (has_query ? "?" : "") + std::string(split->query) == target);

  const auto segments = es::http::two_segments(split->path);
  if (segments) {
    FUZZ_CHECK(!segments->first.empty() && !segments->second.empty());
    FUZZ_CHECK(segments->first.find('/') == std::string_view::npos);
    FUZZ_CHECK(segments->second.find('/') == std::string_view::npos);
    FUZZ_CHECK("/" + std::string(segments->first) + "/" + std::string(segments->second) == split->path);
  } else {
    // Refused: not of the shape /a/b with both non-empty.
    const std::string_view path = split->path;
    const std::size_t slash = path.find('/', 1);
    const bool shaped = slash != std::string_view::npos && slash > 1 && slash + 1 < path.size() &&
                        path.find('/', slash + 1) == std::string_view::npos;
    FUZZ_CHECK(!shaped);
  }

  const auto value = es::http::query_parameter(es::fuzz::Piece(split->query).view(), es::fuzz::Piece(name).view());
  FUZZ_CHECK(value == reference_query_parameter(split->query, name));
  return 0;
}
