// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// End-to-end test harness: real processes, real sockets on loopback.
//
// - Process: runs a program with arguments, collects its stdout and stderr
//   (each line) and lets a test wait for a line, for exit, or signal it.
// - wait_until(): polls a predicate until a deadline; never sleep-then-assert.
// - RawStream: a plain TCP connection that sends a request and collects every
//   byte that comes back, so tests can assert exact wire bytes.
//
// The programs under test print "listening on HOST:PORT" on stderr once they
// accept connections; tests start them with -P 0 and read the port from there.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <sys/types.h>

namespace es::test {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

/// Calls `pred` every few milliseconds until it returns true (→ true) or
/// `timeout` passes (→ false).
bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 10s);

class Process {
 public:
  /// Starts `argv[0]` (a path) with the rest as arguments; stdin is a pipe
  /// (write_stdin / close_stdin), stdout and stderr are collected.
  explicit Process(std::vector<std::string> argv, std::vector<std::string> extra_env = {});
  /// SIGKILLs the process if it still runs, and reaps it. If the program
  /// (built with a sanitizer: scripts/dev sanitize) wrote a sanitizer report
  /// on stderr, prints it and ends the test (exit status 86): a report fails
  /// the test that ran the program, even one that killed it without looking
  /// at its exit.
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const noexcept { return pid_; }

  /// Waits for a line of stderr (or stdout, with `from_stdout`) matching
  /// `pattern`; returns its match results, or nullopt at the deadline.
  std::optional<std::smatch> wait_for_line(const std::regex& pattern, std::chrono::milliseconds timeout = 10s,
                                           bool from_stdout = false);
  /// For servers: waits for "listening on HOST:PORT" and returns PORT (throws if it never comes).
  int wait_for_port(std::chrono::milliseconds timeout = 10s);

  std::string out() const; // everything on stdout so far
  std::string err() const; // everything on stderr so far

  void write_stdin(const std::string& bytes);
  void close_stdin();
  void signal(int sig);
  /// Waits for exit and for the end of its stdout and stderr (so out() and
  /// err() hold everything it wrote); returns the exit status (128+N if
  /// killed by signal N), or nullopt at the deadline.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout = 10s);
  bool running();

 private:
  void reader(int fd, std::string& sink);

  std::string program_;
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  std::optional<int> status_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string out_, err_;
  int open_pipes_ = 2; // reader threads still before end of file
  std::thread out_thread_, err_thread_;
};

class RawStream {
 public:
  /// Connects to 127.0.0.1:port (throws on failure).
  explicit RawStream(int port);
  ~RawStream();
  RawStream(const RawStream&) = delete;
  RawStream& operator=(const RawStream&) = delete;

  void send(const std::string& bytes);
  /// "GET path HTTP/1.1" with Host and the given extra header lines ("Name: value").
  void send_get(const std::string& path, const std::vector<std::string>& headers = {});
  /// Reads until `pred(all bytes so far)` holds, the peer closes, or the deadline; returns pred's last value.
  bool read_until(const std::function<bool(const std::string&)>& pred, std::chrono::milliseconds timeout = 10s);
  /// Reads until `needle` has been received (anywhere in the bytes so far).
  bool read_until_contains(const std::string& needle, std::chrono::milliseconds timeout = 10s);
  /// Reads until the peer closes the connection; false at the deadline.
  bool read_until_closed(std::chrono::milliseconds timeout = 10s);

  const std::string& bytes() const noexcept { return bytes_; }
  /// The bytes after the response head (after the first blank line), or "".
  std::string body() const;
  /// The response head (status line and headers), or "".
  std::string head() const;
  bool closed() const noexcept { return closed_; }
  int fd() const noexcept { return fd_; }
  /// Closes the socket now (a vanishing client).
  void close();

 private:
  int fd_ = -1;
  bool closed_ = false;
  std::string bytes_;
};

/// A loopback port nothing listens on (bound, read back, closed): for
/// "connection refused" tests.
int unused_port();

/// Path of a built program, from the compile definitions set by tests/e2e/CMakeLists.txt.
std::string program_path(const std::string& name);

}  // namespace es::test
