// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// The publishers of a run: P threads, each with one keep-alive connection,
// POSTing events until M have been sent on every token. The events are taken
// in order (event 0 on every token, then event 1, …) from a shared counter,
// back to back or at a fixed total rate. Each event's data carries its
// sequence number, its publisher and the time it was written (stamp.hpp).

#include "endpoint.hpp"
#include "report.hpp"
#include "url_template.hpp"

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace es::bench {

class Publisher {
 public:
  struct Plan {
    UrlTemplate url;
    Endpoint endpoint;
    std::vector<std::string> tokens;
    unsigned events = 0;      ///< per token
    std::size_t size = 0;     ///< bytes of data per event
    unsigned publishers = 0;  ///< threads and connections
    double rate = 0;          ///< publishes per second over all publishers; 0 = back to back
  };

  explicit Publisher(Plan plan);
  ~Publisher();  // waits for the threads
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  void start();
  /// Every event has been published (or has failed).
  bool finished() const noexcept { return running_.load() == 0 && started_; }
  std::uint64_t done() const noexcept { return done_.load(std::memory_order_relaxed); }
  std::uint64_t total() const noexcept { return static_cast<std::uint64_t>(plan_.events) * plan_.tokens.size(); }
  /// The figures, once finished().
  PublishFigures figures();

 private:
  struct Tally {
    std::vector<std::uint32_t> accepted_per_token;
    std::uint64_t accepted = 0, failed = 0, first_send_ns = 0, last_done_ns = 0;
    LatencyHistogram round_trip;
    FailureCounts failures;
  };
  void work(unsigned publisher);
  /// Paced runs: when event `job` is due, after the schedule's origin.
  std::uint64_t offset_ns(std::uint64_t job) const;
  static void sleep_until_ns(std::uint64_t due); ///< CLOCK_MONOTONIC
  void merge(const Tally& tally);

  Plan plan_;
  std::vector<std::string> request_heads_;  // per token, up to the body
  std::vector<std::thread> threads_;
  std::atomic<std::uint64_t> next_{0}, done_{0};
  std::atomic<unsigned> running_{0};
  bool started_ = false;
  std::atomic<std::uint64_t> schedule_start_ns_{0}; ///< paced: the first send's time; event k is due k / rate after it
  std::mutex mutex_;
  Tally total_;
};

}  // namespace es::bench
