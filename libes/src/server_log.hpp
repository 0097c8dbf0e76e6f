// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// The server's log: one line per call to a sink (stderr by default), from
// any thread. Debug lines are built only when debugging is on: callers test
// debugging() first so that a quiet server formats nothing.

#include <functional>
#include <string_view>

namespace es {

class ServerLog {
 public:
  using Sink = std::function<void(std::string_view line)>;
  /// An empty sink writes each line to stderr.
  ServerLog(Sink sink, bool debug);

  void info(std::string_view line) const;
  bool debugging() const noexcept { return debug_; }
  void debug(std::string_view line) const {
    if (debug_) info(line);
  }

 private:
  Sink sink_;
  bool debug_;
};

}  // namespace es
