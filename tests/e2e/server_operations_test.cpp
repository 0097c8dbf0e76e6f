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
#include <cstdint>
#include <memory>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
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

namespace {

/// eventsource-server with its stderr on a FIFO that nobody reads (opened
/// read-write by the server's shell, so it never blocks on open): what
/// `eventsource-server 2>&1 | sleep 60` does to it.
struct StuckLogServer {
  std::filesystem::path dir;
  std::filesystem::path fifo;
  int port = unused_port();
  std::unique_ptr<Process> process;

  StuckLogServer() {
    char pattern[] = "/tmp/es-stuck-log-XXXXXX";
    dir = ::mkdtemp(pattern);
    fifo = dir / "stderr";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    process = std::make_unique<Process>(std::vector<std::string>{
        "/bin/sh", "-c",
        "exec '" + program_path("eventsource-server") + "' -H 127.0.0.1 -P " + std::to_string(port) +
            " -k 0 2<>'" + fifo.string() + "'"});
    REQUIRE(wait_until([&] { return static_cast<bool>(client().Get("/stats")); }));
  }
  ~StuckLogServer() {
    process.reset();
    std::filesystem::remove_all(dir);
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port);
    c.set_connection_timeout(5);
    c.set_read_timeout(5);
    return c;
  }
  /// Publishes `n` events whose access lines are over a kilobyte each.
  void post_many(int n) const {
    auto c = client();
    const std::string token(1000, 't');
    auto s = std::make_unique<RawStream>(port);
    s->send_get("/poll/" + token);
    REQUIRE(s->read_until_contains("\r\n\r\n"));
    for (int i = 0; i < n; ++i) {
      auto res = c.Post("/ping/" + token, "x", "text/plain");
      REQUIRE_RESPONSE(res);
      REQUIRE(res->status == 200);
    }
  }
  json stats() const {
    auto res = client().Get("/stats");
    REQUIRE_RESPONSE(res);
    return json::parse(res->body);
  }
};

} // namespace

TEST_CASE("server: a stderr nobody reads never holds the server: publishes go on, lines are dropped and counted, SIGTERM stops it") {
  StuckLogServer srv;
  srv.post_many(3000); // ~3 MB of access lines: a 64 KB pipe and the 1 MiB buffer fill
  CHECK(srv.stats()["events_published"] == 3000);
  CHECK(srv.stats()["log_lines_dropped"].get<std::uint64_t>() > 0);
  srv.process->signal(SIGTERM);
  CHECK(srv.process->wait_exit(15s) == 0);
}

TEST_CASE("server: once its stderr is read again, one line says how many log lines were dropped") {
  StuckLogServer srv;
  srv.post_many(3000);
  const auto dropped = srv.stats()["log_lines_dropped"].get<std::uint64_t>();
  REQUIRE(dropped > 0);
  const int fd = ::open(srv.fifo.c_str(), O_RDONLY | O_NONBLOCK);
  REQUIRE(fd >= 0);
  std::string seen;
  const std::regex report("warning: (\\d+) log lines dropped: the log output was not being read\n");
  std::smatch match;
  CHECK(wait_until([&] {
    char buf[65536];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) seen.append(buf, static_cast<std::size_t>(n));
    return std::regex_search(seen, match, report);
  }, 20s));
  ::close(fd);
  REQUIRE(match.size() == 2);
  CHECK(std::stoull(match[1].str()) >= dropped); // the /stats request's own line may have been dropped too
}

TEST_CASE("server: --log-format json writes one object a line with time, level and message") {
  Server srv({"--log-format", "json"});
  auto res = srv.post("/ping/nobody", "x");
  REQUIRE_RESPONSE(res);
  REQUIRE(wait_until([&] { return srv.log().find("POST /ping/nobody") != std::string::npos; }));
  std::istringstream lines(srv.log());
  std::string line;
  int parsed = 0;
  while (std::getline(lines, line)) {
    const json object = json::parse(line);
    REQUIRE(object.size() == 3);
    CHECK(std::regex_match(object["time"].get<std::string>(), std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));
    CHECK(object["level"] == "info");
    ++parsed;
  }
  CHECK(parsed >= 3);
  CHECK(srv.log().find("\"message\":\"listening on 127.0.0.1:") != std::string::npos);
  CHECK(std::regex_search(srv.log(), std::regex(R"re("message":"descriptors: \d+ \(about \d+ streams\)")re")));
}

TEST_CASE("server: --access-log off leaves out request and stream lines, not the rest") {
  Server srv({"--access-log", "off"});
  auto s = srv.subscribe("/poll/T");
  auto res = srv.post("/ping/T", "x");
  REQUIRE_RESPONSE(res);
  REQUIRE(read_events(*s, 1));
  s->close();
  REQUIRE(srv.stop() == 0);
  CHECK(srv.log().find("listening on") != std::string::npos);
  CHECK(srv.log().find("stopped") != std::string::npos);
  CHECK(srv.log().find("\"POST /ping/T") == std::string::npos);
  CHECK(srv.log().find("\"GET /poll/T") == std::string::npos);
}

TEST_CASE("server: GET /metrics is valid Prometheus text (promtool check metrics) and counts what happened") {
  Server srv({"-i"});
  INFO("server log:\n" << srv.log());
  auto s = srv.subscribe("/poll/T");
  for (int i = 0; i < 3; ++i) REQUIRE_RESPONSE(srv.post("/ping/T", "hello"));
  REQUIRE(read_events(*s, 3));
  auto res = srv.get("/metrics");
  REQUIRE_RESPONSE(res);
  CHECK(res->status == 200);
  CHECK(res->get_header_value("Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
  const std::string& text = res->body;
  CHECK(text.find("\neventsource_subscribers{kind=\"sse\"} 1\n") != std::string::npos);
  CHECK(text.find("\neventsource_events_published_total 3\n") != std::string::npos);
  CHECK(text.find("\neventsource_fanout_duration_seconds_count 3\n") != std::string::npos);
  CHECK(text.find("\neventsource_fanout_duration_seconds_bucket{le=\"+Inf\"} 3\n") != std::string::npos);
  CHECK(text.find("# TYPE eventsource_stream_bytes_written_total counter\n") != std::string::npos);

  // promtool (Debian's prometheus package) is the judge of the format and the naming conventions.
  Process promtool({"/usr/bin/promtool", "check", "metrics"});
  promtool.write_stdin(text);
  promtool.close_stdin();
  const auto status = promtool.wait_exit(30s);
  INFO("promtool: " << promtool.out() << promtool.err());
  CHECK(status == 0);
  CHECK(promtool.out() + promtool.err() == "");
}

TEST_CASE("server: GET /health is 200 ok while serving") {
  Server srv;
  auto res = srv.get("/health");
  REQUIRE_RESPONSE(res);
  CHECK(res->status == 200);
  CHECK(res->body == "ok\n");
}

TEST_CASE("server: /stats, /metrics and /health answer 403 to addresses outside --admin-allow, the rest is open") {
  Server srv({"--admin-allow", "10.0.0.0/8", "--admin-allow", "fd00::/8"});
  for (const char* path : {"/stats", "/metrics", "/health"}) {
    auto res = srv.get(path);
    REQUIRE_RESPONSE(res);
    CHECK(res->status == 403);
    CHECK(res->body == std::string("Forbidden: ") + path + " answers only addresses in --admin-allow\n");
  }
  auto s = srv.subscribe("/poll/T");
  auto published = srv.post("/ping/T", "x");
  REQUIRE_RESPONSE(published);
  CHECK(published->status == 200);
}

TEST_CASE("server: a bad --admin-allow range is a usage error naming it (exit 2)") {
  Process p({program_path("eventsource-server"), "-P", "0", "--admin-allow", "10.0.0.0/40"});
  CHECK(p.wait_exit(10s) == 2);
  CHECK(p.err() == "eventsource-server: --admin-allow: \"10.0.0.0/40\": the prefix length must be 0 to 32\n");
}

TEST_CASE("server: a key in the --config file that is no option is a usage error naming it (exit 2)") {
  const auto path = std::filesystem::temp_directory_path() /
                    ("eventsource-server-e2e-typo-" + std::to_string(::getpid()) + ".toml");
  {
    std::ofstream config(path);
    config << "port = 0\nhistroy = 5\n";
  }
  Process p({program_path("eventsource-server"), "--config", path.string()});
  CHECK(p.wait_exit(10s) == 2);
  std::filesystem::remove(path);
  CHECK(p.err().find("histroy") != std::string::npos);
}
