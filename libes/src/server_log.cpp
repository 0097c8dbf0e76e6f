// SPDX-License-Identifier: GPL-3.0-or-later
#include "server_log.hpp"

#include <cstdio>
#include <string>
#include <utility>

namespace es {

ServerLog::ServerLog(Sink sink, bool debug) : sink_(std::move(sink)), debug_(debug) {}

void ServerLog::info(std::string_view line) const {
  if (sink_) {
    sink_(line);
    return;
  }
  // One fwrite per line: stdio locks the stream, so lines from several
  // threads never interleave.
  std::string text(line);
  text += '\n';
  std::fwrite(text.data(), 1, text.size(), stderr);
}

}  // namespace es
