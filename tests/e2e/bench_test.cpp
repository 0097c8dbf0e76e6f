// SPDX-License-Identifier: GPL-3.0-or-later
// eventsource-bench against a real eventsource-server: a tiny run whose
// figures are counts, never timings (CI must not depend on the machine's
// speed). The benchmark itself is bench/compare, not a test. The runs over
// several servers (--subscribe-url repeated) use two eventsource-server
// processes on one real redis-server (redis_process.hpp).

#include "harness.hpp"
#include "redis_process.hpp"
#include "server_process.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>

#include <unistd.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>

namespace {

using namespace es::test;
using nlohmann::json;

std::vector<std::string> bench_argv(int port, std::vector<std::string> extra) {
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  std::vector<std::string> argv{program_path("eventsource-bench"), "--json", "--quiet",
                                "--subscribe-url", base + "/poll/{token}",
                                "--publish-url", base + "/ping/{token}"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

/// eventsource-bench --json --quiet with one --subscribe-url per entry of
/// `subscribe_bases` ("http://127.0.0.1:PORT") and --publish-url to `publish_base`.
std::vector<std::string> multi_bench_argv(const std::vector<std::string>& subscribe_bases,
                                          const std::string& publish_base, std::vector<std::string> extra) {
  std::vector<std::string> argv{program_path("eventsource-bench"), "--json", "--quiet"};
  for (const std::string& base : subscribe_bases) argv.insert(argv.end(), {"--subscribe-url", base + "/poll/{token}"});
  argv.insert(argv.end(), {"--publish-url", publish_base + "/ping/{token}"});
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

std::string base_of(const ServerProcess& server) { return "http://127.0.0.1:" + std::to_string(server.port()); }

int health_status(const Server& server) {
  auto res = server.get("/health");
  return res ? res->status : 0;
}

/// A counter of GET /stats, or nullopt if /stats did not answer 200.
std::optional<std::int64_t> stats_counter(const Server& server, const std::string& name) {
  auto res = server.get("/stats");
  if (!res || res->status != 200) return std::nullopt;
  return json::parse(res->body).at(name).get<std::int64_t>();
}

/// A loopback port that completes TCP handshakes (the kernel's backlog) but
/// whose socket is never accepted from: nobody answers a request there.
class SilentListener {
 public:
  SilentListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    socklen_t size = sizeof addr;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &size) == 0);
    port_ = ntohs(addr.sin_port);
  }
  ~SilentListener() { ::close(fd_); }
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

}  // namespace

TEST_CASE("bench: 20 subscribers on a server with ids and history each receive all 5 events once, in order") {
  Process server({program_path("eventsource-server"), "-H", "127.0.0.1", "-P", "0", "-i", "-k", "0"});
  const int port = server.wait_for_port();

  Process bench(bench_argv(port, {"-n", "20", "-t", "2", "-m", "5", "-p", "2", "--pid", std::to_string(server.pid())}));
  REQUIRE(bench.wait_exit(60s) == 0);
  const json report = json::parse(bench.out());
  CHECK(report["clean"] == true);
  CHECK(report["connect"]["connected"] == 20);
  CHECK(report["connect"]["failed"] == 0);
  CHECK(report["publish"]["accepted"] == 10);  // 5 events on each of 2 tokens
  CHECK(report["delivery"]["expected"] == 100);
  CHECK(report["delivery"]["delivered"] == 100);
  CHECK(report["delivery"]["lost"] == 0);
  CHECK(report["delivery"]["duplicated"] == 0);
  CHECK(report["delivery"]["out_of_order"] == 0);
  CHECK(report["delivery"]["latency_ms"]["count"] == 100);
  CHECK(report["server"]["connected"]["processes"] == 1);
  CHECK(report["server"]["connected"]["rss_bytes"].get<long long>() > 0);
}

TEST_CASE("bench: --ws subscribers (WebSocket) each receive all events once, in order") {
  Process server({program_path("eventsource-server"), "-H", "127.0.0.1", "-P", "0", "-i", "-k", "0"});
  const int port = server.wait_for_port();
  Process bench(bench_argv(port, {"--ws", "-n", "20", "-t", "2", "-m", "5", "-p", "2"}));
  REQUIRE(bench.wait_exit(60s) == 0);
  const json report = json::parse(bench.out());
  CHECK(report["clean"] == true);
  CHECK(report["connect"]["connected"] == 20);
  CHECK(report["delivery"]["delivered"] == 100);
  CHECK(report["delivery"]["unrecognised"] == 0);
  CHECK(report["delivery"]["out_of_order"] == 0);
}

TEST_CASE("bench: https subscribers and publishers (TLS, a throwaway certificate) each receive all events once") {
  char pattern[] = "/tmp/es-bench-tls-XXXXXX";
  const std::string dir = ::mkdtemp(pattern);
  REQUIRE(std::system(("openssl req -x509 -newkey rsa:2048 -nodes -keyout " + dir + "/k.pem -out " + dir +
                       "/c.pem -days 1 -subj /CN=127.0.0.1 >/dev/null 2>&1")
                          .c_str()) == 0);
  Process server({program_path("eventsource-server"), "-H", "127.0.0.1", "-P", "0", "-i", "-k", "0", "-K",
                  dir + "/k.pem", "-C", dir + "/c.pem"});
  const int port = server.wait_for_port();
  const std::string base = "https://127.0.0.1:" + std::to_string(port);
  Process bench({program_path("eventsource-bench"), "--json", "--quiet", "-n", "20", "-t", "2", "-m", "5", "-p", "2",
                 "--subscribe-url", base + "/poll/{token}", "--publish-url", base + "/ping/{token}"});
  REQUIRE(bench.wait_exit(60s) == 0);
  std::filesystem::remove_all(dir);
  const json report = json::parse(bench.out());
  CHECK(report["clean"] == true);
  CHECK(report["delivery"]["delivered"] == 100);
}

TEST_CASE("bench: paced publishing sends no faster than the rate") {
  Process server({program_path("eventsource-server"), "-H", "127.0.0.1", "-P", "0", "-k", "0"});
  const int port = server.wait_for_port();

  // 5 events at 50/s: the last is sent at least 80 ms after the first (the
  // schedule's origin is the first send's own time stamp). A lower bound
  // only, which no slow machine can break.
  Process bench(bench_argv(port, {"-n", "3", "-m", "5", "-r", "50"}));
  REQUIRE(bench.wait_exit(60s) == 0);
  const json report = json::parse(bench.out());
  CHECK(report["config"]["rate"] == 50.0);
  CHECK(report["publish"]["accepted"] == 5);
  CHECK(report["publish"]["seconds"].get<double>() >= 0.08);
  CHECK(report["delivery"]["delivered"] == 15);
}

TEST_CASE("bench: subscribers that cannot connect are counted by kind and the run is not clean") {
  int port = 0;
  {
    Process server({program_path("eventsource-server"), "-H", "127.0.0.1", "-P", "0"});
    port = server.wait_for_port();
    server.signal(SIGTERM);
    REQUIRE(server.wait_exit(10s) == 0);
  }
  Process bench(bench_argv(port, {"-n", "3", "-m", "1"}));
  REQUIRE(bench.wait_exit(30s) == 1);
  const json report = json::parse(bench.out());
  CHECK(report["clean"] == false);
  CHECK(report["connect"]["connected"] == 0);
  CHECK(report["connect"]["failures"] == json{{"connect: Connection refused", 3}});
  CHECK(report["publish"]["attempted"] == 0);
}

TEST_CASE("bench: a subscriber count beyond the descriptor limit is refused with the most that fits") {
  const std::string command = "ulimit -n 100 && exec " + program_path("eventsource-bench") + " -n 500 -q";
  Process bench({"/bin/sh", "-c", command});
  REQUIRE(bench.wait_exit(10s) == 2);
  CHECK(bench.err() ==
        "eventsource-bench: 500 subscribers need 533 file descriptors, but this process may open at most 100 "
        "(the hard limit, ulimit -Hn): run at most 67 subscribers per process, or raise the hard limit "
        "(root: ulimit -Hn, systemd: LimitNOFILE=)\n");
}

TEST_CASE("bench: an event size too small for the stamp is refused") {
  Process bench({program_path("eventsource-bench"), "-s", "10", "-q"});
  REQUIRE(bench.wait_exit(10s) == 2);
  CHECK(bench.err() ==
        "eventsource-bench: --size must be at least 46 bytes: each event carries its sequence number, "
        "publisher and send time\n");
}

TEST_CASE("bench: subscribers spread over two servers on one Redis each receive every event once, in order, on both servers") {
  RedisServer redis;
  Server a({"--redis", redis.url()});
  Server b({"--redis", redis.url()});
  INFO("server A log:\n" << a.log());
  INFO("server B log:\n" << b.log());
  for (const Server* server : {&a, &b}) REQUIRE(wait_until([&] { return health_status(*server) == 200; }));

  // 200 subscribers on 2 tokens: subscriber i is on token i % 2 and on server
  // (i / 2) % 2, so each server has 50 subscribers of each token. Events go
  // to A only: B's subscribers get them through Redis.
  Process bench(multi_bench_argv({base_of(a), base_of(b)}, base_of(a), {"-n", "200", "-t", "2", "-m", "50", "-p", "2",
                                                                      "--pid", std::to_string(a.process().pid()),
                                                                      "--pid", std::to_string(b.process().pid())}));
  REQUIRE(bench.wait_exit(60s) == 0);
  INFO("bench report:\n" << bench.out());
  const json report = json::parse(bench.out());
  CHECK(report["clean"] == true);
  CHECK(report["config"]["subscribe_urls"] ==
        json{base_of(a) + "/poll/{token}", base_of(b) + "/poll/{token}"});
  CHECK(report["connect"]["connected"] == 200);
  CHECK(report["connect"]["failed"] == 0);
  CHECK(report["publish"]["accepted"] == 100);  // 50 events on each of 2 tokens
  CHECK(report["delivery"]["expected"] == 200 * 50);
  CHECK(report["delivery"]["delivered"] == 200 * 50);
  CHECK(report["delivery"]["lost"] == 0);
  CHECK(report["delivery"]["duplicated"] == 0);
  CHECK(report["delivery"]["out_of_order"] == 0);
  CHECK(report["delivery"]["unrecognised"] == 0);
  CHECK(report["server"]["connected"]["processes"] == 2);

  // The bench's own view of each server: half the subscribers each, all connected, all served.
  const json& per_url = report["per_subscribe_url"];
  REQUIRE(per_url.size() == 2);
  for (size_t u = 0; u < 2; ++u) {
    CAPTURE(u);
    CHECK(per_url[u]["url"] == report["config"]["subscribe_urls"][u]);
    CHECK(per_url[u]["subscribers"] == 100);
    CHECK(per_url[u]["connected"] == 100);
    CHECK(per_url[u]["failed"] == 0);
    CHECK(per_url[u]["expected"] == 100 * 50);
    CHECK(per_url[u]["delivered"] == 100 * 50);
    CHECK(per_url[u]["lost"] == 0);
  }

  // Each server's view: it wrote every event to each of its 100 subscribers
  // (the counter may trail the bytes the bench read, hence the wait), and
  // only A took publishes.
  CHECK(wait_until([&] { return stats_counter(a, "events_delivered") == 100 * 50; }));
  CHECK(wait_until([&] { return stats_counter(b, "events_delivered") == 100 * 50; }));
  CHECK(stats_counter(a, "events_published") == 100);
  CHECK(stats_counter(b, "events_published") == 0);
  // The bench reset its connections at the end.
  for (const Server* server : {&a, &b})
    CHECK(wait_until([&] { return stats_counter(*server, "subscribers") == 0; }));
}

TEST_CASE("bench: a second --subscribe-url that nobody serves fails the run with exit 1 naming that URL, without hanging") {
  Process server({program_path("eventsource-server"), "-H", "127.0.0.1", "-P", "0", "-k", "0"});
  const std::string served = "http://127.0.0.1:" + std::to_string(server.wait_for_port());

  SUBCASE("connection refused") {
    const std::string nobody = "http://127.0.0.1:" + std::to_string(unused_port());
    const std::string nobody_url = nobody + "/poll/{token}";
    Process bench(multi_bench_argv({served, nobody}, served, {"-n", "20", "-t", "2", "-m", "5"}));
    REQUIRE(bench.wait_exit(30s) == 1);
    INFO("bench report:\n" << bench.out());
    const json report = json::parse(bench.out());
    CHECK(report["clean"] == false);
    CHECK(report["config"]["subscribe_urls"] == json{served + "/poll/{token}", nobody_url});
    CHECK(report["connect"]["connected"] == 10);
    CHECK(report["connect"]["failures"] == json{{"connect: Connection refused", 10}});
    const json& per_url = report["per_subscribe_url"];
    REQUIRE(per_url.size() == 2);
    // The served half still got every event: the failure is the other server's alone.
    CHECK(per_url[0]["connected"] == 10);
    CHECK(per_url[0]["delivered"] == 10 * 5);
    CHECK(per_url[0]["lost"] == 0);
    CHECK(per_url[1]["url"] == nobody_url);
    CHECK(per_url[1]["subscribers"] == 10);
    CHECK(per_url[1]["connected"] == 0);
    CHECK(per_url[1]["failures"] == json{{"connect: Connection refused", 10}});
    CHECK(report["notes"] == json{"none of the 10 subscribers of " + nobody_url +
                                  " connected (connect: Connection refused: 10)"});

    // The table says the same, per URL.
    std::vector<std::string> argv = multi_bench_argv({served, nobody}, served, {"-n", "20", "-t", "2", "-m", "5"});
    argv.erase(argv.begin() + 1);  // --json
    Process table(argv);
    REQUIRE(table.wait_exit(30s) == 1);
    CHECK(table.out().find("  subscribe   " + served + "/poll/{token}: 10 of 10 connected, 50 of 50 delivered\n") !=
          std::string::npos);
    CHECK(table.out().find("  subscribe   " + nobody_url + ": 0 of 10 connected, 0 of 0 delivered\n"
                           "              failed: connect: Connection refused: 10\n") != std::string::npos);
    CHECK(table.out().find("  result      NOT CLEAN (see above)\n") != std::string::npos);
  }

  SUBCASE("a port that takes connections but never answers: those subscribers time out") {
    SilentListener silent;
    const std::string nobody_url = "http://127.0.0.1:" + std::to_string(silent.port()) + "/poll/{token}";
    Process bench(multi_bench_argv({served, "http://127.0.0.1:" + std::to_string(silent.port())}, served,
                                   {"-n", "20", "-t", "2", "-m", "5", "--connect-timeout", "1"}));
    REQUIRE(bench.wait_exit(30s) == 1);
    INFO("bench report:\n" << bench.out());
    const json report = json::parse(bench.out());
    CHECK(report["clean"] == false);
    const json& per_url = report["per_subscribe_url"];
    REQUIRE(per_url.size() == 2);
    CHECK(per_url[0]["connected"] == 10);
    CHECK(per_url[0]["delivered"] == 10 * 5);
    CHECK(per_url[1]["url"] == nobody_url);
    CHECK(per_url[1]["connected"] == 0);
    CHECK(per_url[1]["failed"] == 10);
    // Within the backlog the handshake completes and the head never comes;
    // beyond it the SYN goes unanswered. Either way a timeout, never a hang.
    for (const auto& [kind, count] : per_url[1]["failures"].items()) {
      CAPTURE(kind);
      CHECK((kind == "timed out waiting for the response head" || kind == "connect timed out"));
    }
    REQUIRE(report["notes"].size() == 1);
    CHECK(report["notes"][0].get<std::string>().starts_with("none of the 10 subscribers of " + nobody_url +
                                                            " connected ("));
  }
}
