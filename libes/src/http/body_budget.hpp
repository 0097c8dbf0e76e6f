// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// How many raw bytes a request body may take on the wire, framing included:
// the largest body plus room for chunk sizes and extensions (and, for the
// worker's read budget, the head). Many tiny chunks or long extensions can
// therefore not grow a buffer without bound. The one formula both the
// loop's intake and the worker's stream use.

#include <cstddef>

namespace es::http {

constexpr std::size_t raw_body_budget(std::size_t max_body) noexcept {
  return max_body + max_body / 4 + 64 * 1024;
}

}  // namespace es::http
