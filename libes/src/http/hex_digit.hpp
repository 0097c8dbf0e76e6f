// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// One hexadecimal digit, as percent-encoding (RFC 3986) and chunk sizes
// (RFC 9112 7.1) write them.

namespace es::http {

/// The value of `c` as a hex digit (either case), or -1.
constexpr int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace es::http
