// SPDX-License-Identifier: GPL-3.0-or-later
#include "common/log.hpp"

#include <cstdio>
#include <string>
#include <utility>

namespace es {

Log::Log(Sink sink, bool debug) : sink_(std::move(sink)), debug_(debug) {}

void Log::write(LogLevel level, std::string_view line) const {
  std::string text;
  switch (level) {
    case LogLevel::warn: text = "warning: "; break;
    case LogLevel::error: text = "error: "; break;
    case LogLevel::debug:
    case LogLevel::info: break;
  }
  text += line;
  if (sink_) {
    sink_(text);
    return;
  }
  // One fwrite per line: stdio locks the stream, so lines from several
  // threads never interleave.
  text += '\n';
  std::fwrite(text.data(), 1, text.size(), stderr);
}

}  // namespace es
