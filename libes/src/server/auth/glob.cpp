// SPDX-License-Identifier: GPL-3.0-or-later
#include "server/auth/glob.hpp"

namespace es {

bool glob_match(std::string_view pattern, std::string_view text) noexcept {
  // Greedy with one backtrack point (the last '*'): linear in practice, and
  // never exponential whatever the pattern.
  std::size_t p = 0, t = 0;
  std::size_t star = std::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace es
