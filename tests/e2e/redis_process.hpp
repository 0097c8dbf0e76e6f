// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// A real redis-server (Debian's, /usr/bin/redis-server) as a child process,
// for the Redis store tests: each one in a fresh temporary directory that it
// removes when it goes, listening on a unix socket in that directory (and,
// if asked, on 127.0.0.1 too), saving nothing unless appendonly is asked.
// redis-cli talks to it; stop(), kill9() and restart() make the outages the
// tests need, restart() on the same directory and socket (and port), so an
// appendonly server reloads what it had.

#include "harness.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace es::test {

struct RedisOptions {
  /// --appendonly yes --appendfsync always: every write is on disk before
  /// its reply, so it survives stop(), kill9() and restart().
  bool appendonly = false;
  /// Also listen on 127.0.0.1 (a free port), for redis://HOST:PORT URLs.
  bool tcp = false;
  /// --requirepass; cli() authenticates with it.
  std::string password;

  /// appendonly.
  static RedisOptions durable() {
    RedisOptions o;
    o.appendonly = true;
    return o;
  }
  /// tcp, with `password` (empty: none).
  static RedisOptions on_tcp(std::string password = {}) {
    RedisOptions o;
    o.tcp = true;
    o.password = std::move(password);
    return o;
  }
};

class RedisServer {
 public:
  /// Starts redis-server and waits until it answers PING and has loaded its
  /// data (throws with its log if it never does).
  explicit RedisServer(RedisOptions options = {});
  /// Kills the server (SIGKILL) if it runs and removes its directory.
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  const std::string& dir() const { return dir_; }
  std::string socket_path() const { return dir_ + "/redis.sock"; }
  /// "unix://DIR/redis.sock": the --redis URL of the unix socket.
  std::string url() const { return "unix://" + socket_path(); }
  /// The TCP port (0 without RedisOptions::tcp).
  int port() const { return port_; }
  /// "redis://[:PASSWORD@]127.0.0.1:PORT[/DB]" (requires RedisOptions::tcp);
  /// `password` as given (empty: none), `db` < 0: no path.
  std::string tcp_url(const std::string& password = {}, int db = -1) const;

  /// Runs redis-cli -s SOCKET [-a PASSWORD] `args...` and returns its stdout
  /// (raw replies, one a line; an error reply is a line such as "ERR ...").
  /// Throws if redis-cli does not exit 0 within 10 s.
  std::string cli(const std::vector<std::string>& args) const;
  /// cli() without the final newline: for one-line replies ("PONG", "1", an id).
  std::string cli_line(const std::vector<std::string>& args) const;

  /// True if the server answers PING.
  bool ping() const;
  bool running() const;
  /// The server's log (its stdout) since it was last started.
  std::string log() const;

  /// SIGTERM and wait (an appendonly server syncs its file first); the exit status.
  std::optional<int> stop();
  /// SIGKILL and wait: a crash, nothing flushed but what appendfsync always wrote.
  void kill9();
  /// Starts it again on the same directory, socket and port (after stop() or kill9()).
  void start();
  /// stop() if it runs, then start().
  void restart();

  /// CLIENT KILL TYPE normal, then TYPE pubsub (never redis-cli's own
  /// connection): every other client's connection is dropped. Returns how
  /// many were.
  int kill_clients() const;
  /// Connected clients other than the asking redis-cli (INFO clients).
  int connected_clients() const;

 private:
  std::vector<std::string> argv() const;
  /// redis-cli's stdout, or nullopt if it did not exit 0 (no server there).
  std::optional<std::string> try_cli(const std::vector<std::string>& args) const;

  RedisOptions options_;
  std::string dir_;
  int port_ = 0;
  std::unique_ptr<Process> process_;
};

} // namespace es::test
