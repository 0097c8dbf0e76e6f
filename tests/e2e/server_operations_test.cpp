// SPDX-License-Identifier: GPL-3.0-or-later
// eventsource-server, running it: /stats, the -d debug log, SIGTERM and
// SIGINT shutdown, access log lines, --help, --version, --config.
//
// Black box: the real eventsource-server on 127.0.0.1, port 0, real sockets.
// Expectations come from the agreed command line and protocol of the server
// (docs/architecture.md, "Wire format decisions"). Streams are read with
// RawStream (exact bytes, raw_http.hpp); POSTs and plain requests go through
// httplib::Client. Servers (server_process.hpp) run with keepalives off
// (-k 0) unless a test is about keepalives.

#include "raw_http.hpp"
#include "server_process.hpp"

#include <doctest/doctest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

using namespace es::test;
using nlohmann::json;

} // namespace

TEST_CASE("server: /stats reports tokens, subscribers, events published and delivered, slow disconnects and uptime") {
  Server srv;
  INFO("server log:\n" << srv.log());
  auto a1 = srv.subscribe("/poll/A");
  auto a2 = srv.subscribe("/poll/A");
  auto b = srv.subscribe("/poll/B");
  REQUIRE_RESPONSE(srv.post("/ping/A", "1"));
  REQUIRE_RESPONSE(srv.post("/ping/A", "2"));
  REQUIRE_RESPONSE(srv.post("/ping/B", "3"));
  REQUIRE(read_events(*a1, 2));
  REQUIRE(read_events(*a2, 2));
  REQUIRE(read_events(*b, 1));

  auto res = srv.get("/stats");
  REQUIRE_RESPONSE(res);
  CHECK(res->status == 200);
  CHECK(res->get_header_value("Content-Type").starts_with("application/json"));
  CHECK(res->body.ends_with("}\n"));
  json stats = json::parse(res->body);
  CHECK(stats["tokens"] == 2);
  CHECK(stats["subscribers"] == 3);
  CHECK(stats["events_published"] == 3);
  CHECK(stats["slow_disconnects"] == 0);
  REQUIRE(stats["uptime_seconds"].is_number());
  CHECK(stats["uptime_seconds"].get<double>() >= 0);
  CHECK(wait_until([&] { return srv.stats()["events_delivered"] == 5; }, 5s));

  b->close();
  CHECK(wait_until([&] {
    json s = srv.stats();
    return s["subscribers"] == 2 && s["tokens"] == 1;
  }, 5s));
}

TEST_CASE("server: -d adds debug detail to the log") {
  auto lines_logged = [](std::vector<std::string> options) {
    Server srv(std::move(options));
    auto s = srv.subscribe("/poll/T");
    REQUIRE_RESPONSE(srv.post("/ping/T", "x"));
    REQUIRE(read_events(*s, 1));
    s->close();
    // The stream's end is logged in both modes: wait for it, then count.
    REQUIRE(srv.process().wait_for_line(std::regex(R"(GET /poll/T\b)"), 5s));
    const std::string log = srv.log();
    return std::count(log.begin(), log.end(), '\n');
  };
  const auto normal = lines_logged({});
  const auto debug = lines_logged({"-d"});
  CHECK(debug > normal);
}

TEST_CASE("server: SIGTERM flushes and ends every stream, exits 0 and logs 'stopped'") {
  Server srv;
  INFO("server log:\n" << srv.log());
  auto t1 = srv.subscribe("/poll/T");
  auto t2 = srv.subscribe("/poll/T");
  auto u = srv.subscribe("/poll/U");
  RawStream idle(srv.port()); // a connection that never sends a request must not hold shutdown up
  REQUIRE_RESPONSE(srv.post("/ping/T", "last words"));
  srv.process().signal(SIGTERM);
  const auto exited = srv.process().wait_exit(5s);
  REQUIRE_MESSAGE(exited, "still running 5 s after SIGTERM");
  CHECK(*exited == 0);
  for (auto* s : {t1.get(), t2.get()}) {
    CHECK(s->read_until_closed(5s));
    CHECK(s->body() == wire("ping", "last words"));
  }
  CHECK(u->read_until_closed(5s));
  CHECK(u->body().empty());
  CHECK(idle.read_until_closed(5s));
  CHECK(srv.process().wait_for_line(std::regex("stopped"), 5s));
}

TEST_CASE("server: SIGINT shuts down as SIGTERM does") {
  Server srv;
  INFO("server log:\n" << srv.log());
  auto s = srv.subscribe("/poll/T");
  srv.process().signal(SIGINT);
  const auto exited = srv.process().wait_exit(5s);
  REQUIRE(exited);
  CHECK(*exited == 0);
  CHECK(s->read_until_closed(5s));
  CHECK(srv.process().wait_for_line(std::regex("stopped"), 5s));
}

TEST_CASE("server: each request and each ended stream leaves an access line on stderr") {
  Server srv;
  INFO("server log:\n" << srv.log());
  auto s = srv.subscribe("/poll/T");
  REQUIRE_RESPONSE(srv.post("/ping/T", "x"));
  CHECK(srv.process().wait_for_line(std::regex(R"(POST /ping/T\b.*\b200\b|\b200\b.*POST /ping/T\b)"), 5s));
  auto missing = srv.post("/ping/nobody", "x");
  REQUIRE_RESPONSE(missing);
  CHECK(srv.process().wait_for_line(std::regex(R"(/ping/nobody\b.*\b404\b|\b404\b.*/ping/nobody\b)"), 5s));
  s->close();
  CHECK(srv.process().wait_for_line(std::regex(R"(/poll/T\b)"), 5s));
}

TEST_CASE("server: --help explains every option with its default, and the endpoints") {
  Process help({program_path("eventsource-server"), "--help"});
  auto status = help.wait_exit(10s);
  REQUIRE(status);
  CHECK(*status == 0);
  REQUIRE(wait_until([&] { return help.out().find("--max-queue") != std::string::npos; }, 5s));
  const std::string text = help.out();
  INFO("--help:\n" << text);
  for (const char* option :
       {"--host", "--port", "--debug", "--json", "--id", "--keepalive", "--exclusive", "--listen-action",
        "--allow-action", "--any-action", "--history", "--history-age", "--latest", "--max-body", "--max-subscribers",
        "--max-queue", "--cors-origin", "--workers", "--request-timeout", "--config", "--version", "--help"}) {
    CAPTURE(option);
    CHECK(text.find(option) != std::string::npos);
  }
  for (const char* default_value : {"0.0.0.0", "8888", "15000", "1000", "3600", "1048576", "4194304"}) {
    CAPTURE(default_value);
    CHECK(text.find(default_value) != std::string::npos);
  }
  CHECK(text.find("/poll") != std::string::npos);
  CHECK(text.find("/stats") != std::string::npos);
}

TEST_CASE("server: --version prints a version and exits 0") {
  Process version({program_path("eventsource-server"), "--version"});
  auto status = version.wait_exit(10s);
  REQUIRE(status);
  CHECK(*status == 0);
  CHECK(version.wait_for_line(std::regex(R"(\d+\.\d+\.\d+)"), 5s, true));
}

TEST_CASE("server: options can come from a --config file") {
  const auto path = std::filesystem::temp_directory_path() /
                    ("eventsource-server-e2e-" + std::to_string(::getpid()) + ".toml");
  {
    std::ofstream config(path);
    config << "json = true\nid = true\nmax-body = 32\n";
  }
  struct Remove {
    std::filesystem::path p;
    ~Remove() { std::filesystem::remove(p); }
  } remove{path};
  Server srv({"--config", path.string()});
  INFO("server log:\n" << srv.log());
  auto s = srv.subscribe("/poll/T");
  auto res = srv.post("/ping/T", "{ \"from\" : \"config\" }");
  REQUIRE_RESPONSE(res);
  CHECK(json::parse(res->body) == json{{"id", "1"}, {"subscribers", 1}});
  REQUIRE(read_events(*s, 1));
  CHECK(s->body() == wire("ping", "{\"from\":\"config\"}", "1"));
  auto big = srv.post("/ping/T", "\"" + std::string(40, 'x') + "\"");
  REQUIRE_RESPONSE(big);
  CHECK(big->status == 413);
  CHECK(big->body == "Body too large (limit 32 bytes)\n");
}
