// SPDX-License-Identifier: GPL-3.0-or-later
#include "common/log.hpp"

#include "common/log_writer.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>
#include <utility>

#include <unistd.h>

namespace es {
namespace {

std::string_view level_name(LogLevel level) {
  switch (level) {
    case LogLevel::debug: return "debug";
    case LogLevel::info: return "info";
    case LogLevel::warn: return "warning";
    case LogLevel::error: return "error";
  }
  return "info";
}

/// "2026-11-29T11:40:00.123Z"
std::string utc_now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return text;
}

}  // namespace

Log::Log(Sink sink, bool debug, LogFormat format, bool access)
    : sink_(std::move(sink)), debug_(debug), format_(format), access_(access) {
  if (!sink_) writer_ = std::make_unique<LogWriter>(STDERR_FILENO);
}

Log::~Log() = default;

std::uint64_t Log::dropped() const noexcept { return writer_ ? writer_->dropped() : 0; }

void Log::write(LogLevel level, std::string_view line) const {
  std::string text;
  if (format_ == LogFormat::json) {
    nlohmann::ordered_json object;
    object["time"] = utc_now();
    object["level"] = level_name(level);
    object["message"] = line;
    // Invalid UTF-8 (a token or path as sent) is replaced, never a failure.
    text = object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    if (level == LogLevel::warn || level == LogLevel::error) {
      text = level_name(level);
      text += ": ";
    }
    text += line;
  }
  if (sink_)
    sink_(text);
  else
    writer_->write(text);
}

}  // namespace es
