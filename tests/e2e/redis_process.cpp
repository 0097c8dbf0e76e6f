// SPDX-License-Identifier: GPL-3.0-or-later
#include "redis_process.hpp"

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <system_error>

namespace es::test {

namespace {

constexpr const char* kRedisServer = "/usr/bin/redis-server";
constexpr const char* kRedisCli = "/usr/bin/redis-cli";

// redis-cli's stdout if it exits 0 within the deadline (it exits 1 when it
// cannot connect; an error reply is printed and still exits 0).
std::optional<std::string> run(std::vector<std::string> argv) {
  Process p(std::move(argv));
  p.close_stdin();
  auto status = p.wait_exit(10s);
  if (status != 0) return std::nullopt;
  return p.out();
}

} // namespace

RedisServer::RedisServer(RedisOptions options) : options_(std::move(options)) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "es-redis-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp: " + std::string(std::strerror(errno)));
  dir_ = tmpl;
  // redis-server cannot report a port it picked, so the port is one that was
  // free a moment ago; another one is tried if it was taken meanwhile.
  for (int attempt = 0;; ++attempt) {
    if (options_.tcp) port_ = unused_port();
    try {
      start();
      return;
    } catch (const std::exception&) {
      if (!options_.tcp || attempt == 2) {
        process_.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
        throw;
      }
    }
  }
}

RedisServer::~RedisServer() {
  process_.reset(); // SIGKILL and reap
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::vector<std::string> RedisServer::argv() const {
  std::vector<std::string> a{kRedisServer, "--port", std::to_string(options_.tcp ? port_ : 0),
                             "--unixsocket", socket_path(), "--unixsocketperm", "700",
                             "--dir", dir_, "--save", "", "--daemonize", "no"};
  if (options_.tcp) a.insert(a.end(), {"--bind", "127.0.0.1"});
  if (options_.appendonly) a.insert(a.end(), {"--appendonly", "yes", "--appendfsync", "always"});
  if (!options_.password.empty()) a.insert(a.end(), {"--requirepass", options_.password});
  return a;
}

void RedisServer::start() {
  if (process_ && process_->running()) throw std::logic_error("redis-server is already running");
  process_ = std::make_unique<Process>(argv());
  process_->close_stdin();
  // Answering PING is not enough: while loading its appendonly file the
  // server answers PING but refuses the data commands (-LOADING).
  const bool ready = wait_until(
      [&] {
        if (!process_->running()) return true;
        auto info = try_cli({"INFO", "persistence"});
        return info && info->find("loading:0") != std::string::npos;
      },
      10s);
  if (!ready || !process_->running())
    throw std::runtime_error("redis-server did not become ready; its log:\n" + process_->out() + process_->err());
}

std::string RedisServer::tcp_url(const std::string& password, int db) const {
  if (!options_.tcp) throw std::logic_error("tcp_url() needs RedisOptions::tcp");
  std::string url = "redis://";
  if (!password.empty()) url += ":" + password + "@";
  url += "127.0.0.1:" + std::to_string(port_);
  if (db >= 0) url += "/" + std::to_string(db);
  return url;
}

std::optional<std::string> RedisServer::try_cli(const std::vector<std::string>& args) const {
  std::vector<std::string> a{kRedisCli, "-s", socket_path()};
  if (!options_.password.empty()) a.insert(a.end(), {"-a", options_.password, "--no-auth-warning"});
  a.insert(a.end(), args.begin(), args.end());
  return run(std::move(a));
}

std::string RedisServer::cli(const std::vector<std::string>& args) const {
  auto out = try_cli(args);
  if (!out) {
    std::string command;
    for (auto& arg : args) command += " " + arg;
    throw std::runtime_error("redis-cli" + command + " failed (is redis-server running?)");
  }
  return *out;
}

std::string RedisServer::cli_line(const std::vector<std::string>& args) const {
  std::string out = cli(args);
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

bool RedisServer::ping() const { return try_cli({"PING"}) == "PONG\n"; }

bool RedisServer::running() const { return process_ && process_->running(); }

std::string RedisServer::log() const { return process_ ? process_->out() + process_->err() : std::string(); }

std::optional<int> RedisServer::stop() {
  if (!running()) return std::nullopt;
  process_->signal(SIGTERM);
  return process_->wait_exit(10s);
}

void RedisServer::kill9() {
  if (!running()) return;
  process_->signal(SIGKILL);
  process_->wait_exit(10s);
}

void RedisServer::restart() {
  stop();
  start();
}

int RedisServer::kill_clients() const {
  int killed = 0;
  for (const char* type : {"normal", "pubsub"}) {
    const std::string reply = cli_line({"CLIENT", "KILL", "TYPE", type});
    killed += std::stoi(reply);
  }
  return killed;
}

int RedisServer::connected_clients() const {
  const std::string info = cli({"INFO", "clients"});
  const std::string key = "connected_clients:";
  const auto at = info.find(key);
  if (at == std::string::npos) throw std::runtime_error("INFO clients without connected_clients: " + info);
  return std::stoi(info.substr(at + key.size())) - 1;
}

} // namespace es::test
