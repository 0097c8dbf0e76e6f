// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// The server's log: one line per call, from any thread, to the embedder's
// sink (called on the logging thread) or else to stderr through a
// LogWriter (never waits: a stuck stderr costs lines, counted, not service).
// Lines carry a level: as text, info lines are written as they are,
// warnings and errors start with "warning: " and "error: " so that an
// operator can grep for what needs attention; as JSON (--log-format json)
// each line is an object {"time", "level", "message"}. Access lines can be
// turned off. Debug lines are built only when debugging is on: callers test
// debugging() first so that a quiet server formats nothing.

#include <es/server_options.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

namespace es {

enum class LogLevel { debug, info, warn, error };

class LogWriter;

class Log {
 public:
  using Sink = std::function<void(std::string_view line)>;
  /// An empty sink writes each line to stderr, through a LogWriter.
  Log(Sink sink, bool debug, LogFormat format = LogFormat::text, bool access = true);
  ~Log();
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;

  void write(LogLevel level, std::string_view line) const;
  void info(std::string_view line) const { write(LogLevel::info, line); }
  /// Something went wrong that the server handled (a client dropped, a retry).
  void warn(std::string_view line) const { write(LogLevel::warn, line); }
  /// Something went wrong that the operator should look at (a failed system call).
  void error(std::string_view line) const { write(LogLevel::error, line); }
  /// An access line (one per request or ended stream), unless turned off.
  void access(std::string_view line) const {
    if (access_) write(LogLevel::info, line);
  }
  bool logs_access() const noexcept { return access_; }
  bool debugging() const noexcept { return debug_; }
  /// Lines lost because stderr did not keep up (0 with a sink).
  std::uint64_t dropped() const noexcept;
  void debug(std::string_view line) const {
    if (debug_) write(LogLevel::debug, line);
  }

 private:
  Sink sink_;
  std::unique_ptr<LogWriter> writer_;
  bool debug_;
  LogFormat format_;
  bool access_;
};

}  // namespace es
