// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// Token patterns in JWT claims ("chat-*"): '*' matches any run of bytes
// (none included), '?' any one byte, everything else itself. Pure.

#include <string_view>

namespace es {

bool glob_match(std::string_view pattern, std::string_view text) noexcept;

}  // namespace es
