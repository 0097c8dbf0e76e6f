// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// The server's log: one line per call to a sink (stderr by default), from
// any thread. Lines carry a level: info lines are written as they are,
// warnings and errors start with "warning: " and "error: " so that an
// operator can grep for what needs attention. Debug lines are built only
// when debugging is on: callers test debugging() first so that a quiet
// server formats nothing.

#include <functional>
#include <string_view>

namespace es {

enum class LogLevel { debug, info, warn, error };

class Log {
 public:
  using Sink = std::function<void(std::string_view line)>;
  /// An empty sink writes each line to stderr.
  Log(Sink sink, bool debug);

  void write(LogLevel level, std::string_view line) const;
  void info(std::string_view line) const { write(LogLevel::info, line); }
  /// Something went wrong that the server handled (a client dropped, a retry).
  void warn(std::string_view line) const { write(LogLevel::warn, line); }
  /// Something went wrong that the operator should look at (a failed system call).
  void error(std::string_view line) const { write(LogLevel::error, line); }
  bool debugging() const noexcept { return debug_; }
  void debug(std::string_view line) const {
    if (debug_) write(LogLevel::debug, line);
  }

 private:
  Sink sink_;
  bool debug_;
};

}  // namespace es
