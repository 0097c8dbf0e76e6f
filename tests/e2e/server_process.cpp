// SPDX-License-Identifier: GPL-3.0-or-later
#include "server_process.hpp"

#include <algorithm>
#include <utility>

namespace es::test {

namespace {

std::vector<std::string> keepalive_off_unless_given(std::vector<std::string> options) {
  bool keepalive_given = std::any_of(options.begin(), options.end(),
                                     [](const std::string& o) { return o == "-k" || o == "--keepalive"; });
  if (!keepalive_given) options.insert(options.begin(), {"-k", "0"});
  return options;
}

} // namespace

ServerProcess::ServerProcess(std::vector<std::string> options, int port) {
  std::vector<std::string> argv{program_path("eventsource-server"), "-H", "127.0.0.1", "-P", std::to_string(port)};
  argv.insert(argv.end(), options.begin(), options.end());
  process_ = std::make_unique<Process>(argv);
  port_ = process_->wait_for_port();
}

httplib::Client ServerProcess::client() const {
  httplib::Client c("127.0.0.1", port_);
  c.set_connection_timeout(5s);
  c.set_read_timeout(15s);
  c.set_write_timeout(15s);
  // Without it a POST's body waits for the ACK of its head (Nagle against
  // delayed ACK): 40 ms a request, a client artefact that hides nothing.
  c.set_tcp_nodelay(true);
  return c;
}

std::optional<int> ServerProcess::stop(int sig, std::chrono::milliseconds timeout) {
  process_->signal(sig);
  return process_->wait_exit(timeout);
}

Server::Server(std::vector<std::string> options) : ServerProcess(keepalive_off_unless_given(std::move(options))) {}

httplib::Result Server::post(const std::string& path, const std::string& body, const httplib::Headers& headers) const {
  auto c = client();
  return c.Post(path.c_str(), headers, body, "text/plain");
}

httplib::Result Server::get(const std::string& path, const httplib::Headers& headers) const {
  auto c = client();
  return c.Get(path.c_str(), headers);
}

nlohmann::json Server::stats() const {
  auto res = get("/stats");
  REQUIRE_MESSAGE(res, "GET /stats failed: " << httplib::to_string(res.error()));
  REQUIRE(res->status == 200);
  return nlohmann::json::parse(res->body);
}

std::unique_ptr<RawStream> Server::subscribe(const std::string& path, const std::vector<std::string>& headers) const {
  auto s = std::make_unique<RawStream>(port());
  s->send_get(path, headers);
  REQUIRE_MESSAGE(s->read_until_contains("\r\n\r\n", 10s), "no response head for GET " << path
                                                                                        << "; got: " << s->bytes());
  REQUIRE_MESSAGE(s->head().starts_with("HTTP/1.1 200"), "GET " << path << " answered: " << s->head());
  return s;
}

} // namespace es::test
