// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// eventsource-server as a child process, for the black-box tests: started on
// 127.0.0.1 with the given options (on port 0 unless told: the port is read
// from its "listening on" line), its stderr (the log), stopping it by signal.
//
// - ServerProcess runs the server with the options as given.
// - Server, the server tests' own, runs it with keepalives off (-k 0) unless
//   a test gives -k/--keepalive, so that an exact-bytes comparison never
//   meets a comment it did not ask for; it adds requests that must be
//   answered (POST, GET, /stats, a stream opened with a raw GET).

#include "harness.hpp"

#include <doctest/doctest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <csignal>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace es::test {

class ServerProcess {
 public:
  /// Starts eventsource-server -H 127.0.0.1 -P `port` `options...` and waits
  /// until it listens (throws with its stderr if it never does).
  explicit ServerProcess(std::vector<std::string> options = {}, int port = 0);

  int port() const { return port_; }
  Process& process() { return *process_; }
  /// Everything the server wrote on stderr so far: its access and debug log.
  std::string log() const { return process_->err(); }

  /// A client for 127.0.0.1:port() with short deadlines and TCP_NODELAY.
  httplib::Client client() const;

  /// Sends `sig` and waits for the exit; returns the exit status (128+N if
  /// killed by signal N), or nullopt at the deadline. Without stop() the
  /// server is killed (SIGKILL) when this object goes.
  std::optional<int> stop(int sig = SIGTERM, std::chrono::milliseconds timeout = 10s);

 private:
  std::unique_ptr<Process> process_;
  int port_ = 0;
};

class Server : public ServerProcess {
 public:
  /// On port 0, with -k 0 first unless `options` hold -k or --keepalive.
  explicit Server(std::vector<std::string> options = {});

  httplib::Result post(const std::string& path, const std::string& body, const httplib::Headers& headers = {}) const;
  httplib::Result get(const std::string& path, const httplib::Headers& headers = {}) const;
  /// GET /stats; requires 200 and returns the JSON.
  nlohmann::json stats() const;
  /// Opens a stream with a raw GET and waits for its response head; requires 200.
  std::unique_ptr<RawStream> subscribe(const std::string& path, const std::vector<std::string>& headers = {}) const;
};

} // namespace es::test

/// Requires that a request got an answer (any status); evaluates `expr` once.
#define REQUIRE_RESPONSE(expr)                                                              \
  do {                                                                                      \
    const httplib::Result& answer_ = (expr);                                                \
    REQUIRE_MESSAGE(static_cast<bool>(answer_), "request failed: " << httplib::to_string(answer_.error())); \
  } while (false)
