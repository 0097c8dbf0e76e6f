// SPDX-License-Identifier: GPL-3.0-or-later
// eventsource-bench against a real eventsource-server: a tiny run whose
// figures are counts, never timings (CI must not depend on the machine's
// speed). The benchmark itself is bench/compare, not a test.

#include "harness.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>

#include <unistd.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <string>
#include <vector>

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
