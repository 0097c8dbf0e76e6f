// SPDX-License-Identifier: GPL-3.0-or-later
#include "process_usage.hpp"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include <vector>

#include <unistd.h>

namespace es::bench {

namespace {

/// The fields of /proc/PID/stat after "pid (comm)", which may hold spaces and
/// parentheses: field 3 (state) is fields[0]. Views into `line`.
std::vector<std::string_view> stat_fields(const std::string& line) {
  std::vector<std::string_view> fields;
  const std::size_t close = line.rfind(')');
  if (close == std::string::npos) return fields;
  std::string_view rest = std::string_view(line).substr(close + 1);
  while (!rest.empty()) {
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    const std::size_t space = rest.find(' ');
    if (!rest.empty()) fields.push_back(rest.substr(0, space));
    rest.remove_prefix(space == std::string_view::npos ? rest.size() : space);
  }
  return fields;
}
std::vector<std::string_view> stat_fields(const std::string&& line) = delete;  // the views would dangle

template <class T>
T number(std::string_view text) {
  T value{};
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

std::string read_stat(const std::string& pid) {
  std::ifstream in("/proc/" + pid + "/stat");
  std::string line;
  std::getline(in, line);
  return line;
}

std::optional<pid_t> parent_of(const std::string& pid) {
  const std::string line = read_stat(pid);
  const auto fields = stat_fields(line);
  if (fields.size() < 2) return std::nullopt;
  return number<pid_t>(fields[1]);
}

bool add_status(pid_t pid, ProcessUsage& usage) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  if (!in) return false;
  std::string line;
  while (std::getline(in, line)) {
    const std::string_view text = line;
    const auto number_after = [&](std::string_view key) -> std::uint64_t {
      std::string_view value = text.substr(key.size());
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
      std::uint64_t n = 0;
      std::from_chars(value.data(), value.data() + value.size(), n);
      return n;
    };
    if (text.starts_with("VmRSS:")) usage.rss_bytes += number_after("VmRSS:") * 1024;
    else if (text.starts_with("Threads:")) usage.threads += static_cast<unsigned>(number_after("Threads:"));
  }
  // utime and stime are fields 14 and 15, in clock ticks.
  const std::string stat_line = read_stat(std::to_string(pid));
  const auto fields = stat_fields(stat_line);
  if (fields.size() > 12) {
    const auto ticks = number<unsigned long long>(fields[11]) + number<unsigned long long>(fields[12]);
    usage.cpu_seconds += static_cast<double>(ticks) / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  ++usage.processes;
  return true;
}

}  // namespace

std::optional<ProcessUsage> read_process_usage(const std::vector<pid_t>& pids) {
  std::vector<pid_t> all = pids;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", error)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    const auto parent = parent_of(name);
    if (parent && std::find(pids.begin(), pids.end(), *parent) != pids.end()) all.push_back(std::stoi(name));
  }
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  ProcessUsage usage;
  for (const pid_t pid : all) add_status(pid, usage);
  if (usage.processes == 0) return std::nullopt;
  return usage;
}

}  // namespace es::bench
