// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// The memory and threads of the server under test, from /proc. A server of
// several processes (nginx: a master and its workers) is summed: give the
// master's PID and its children are counted too.

#include <cstdint>
#include <optional>
#include <vector>

#include <sys/types.h>

namespace es::bench {

struct ProcessUsage {
  std::uint64_t rss_bytes = 0;  ///< VmRSS summed (pages shared between processes count once per process)
  unsigned threads = 0;
  unsigned processes = 0;
  double cpu_seconds = 0;       ///< user + system time so far, summed
};

/// The usage of `pids` and of their direct children; nullopt if none of them exists.
std::optional<ProcessUsage> read_process_usage(const std::vector<pid_t>& pids);

}  // namespace es::bench
