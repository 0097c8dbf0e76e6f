// SPDX-License-Identifier: GPL-3.0-or-later
// eventsource-server over HTTPS (-K/-C): certificates made by the test with
// the openssl command in a temporary directory (never committed keys), curl,
// our client and request tool, plain HTTP and stalled handshakes on the TLS
// port, and SIGHUP reloading the pair with a stream open.

#include "raw_http.hpp"
#include "server_process.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

using namespace es::test;
using nlohmann::json;
namespace fs = std::filesystem;

int run(const std::string& command) { return std::system(command.c_str()); }

/// A certificate authority and a server certificate for 127.0.0.1 signed by it.
struct Certificates {
  fs::path dir;
  explicit Certificates(const std::string& name = "a") {
    char pattern[] = "/tmp/es-tls-XXXXXX";
    dir = ::mkdtemp(pattern);
    make(name);
  }
  ~Certificates() { fs::remove_all(dir); }
  fs::path ca(const std::string& name = "a") const { return dir / (name + "-ca.pem"); }
  fs::path key() const { return dir / "server.key"; }
  fs::path cert() const { return dir / "server.pem"; }
  /// A new authority `name` and a server pair it signed, written over key() and cert().
  void make(const std::string& name) {
    const std::string d = dir.string() + "/";
    const std::string quiet = " >/dev/null 2>&1";
    REQUIRE(run("openssl req -x509 -newkey rsa:2048 -nodes -keyout " + d + name + "-ca.key -out " + d + name +
                "-ca.pem -days 2 -subj '/CN=eventsource test CA " + name + "'" + quiet) == 0);
    REQUIRE(run("openssl req -newkey rsa:2048 -nodes -keyout " + d + "next.key -out " + d +
                "next.csr -subj /CN=127.0.0.1" + quiet) == 0);
    {
      std::ofstream ext(d + "ext.cnf");
      ext << "subjectAltName=IP:127.0.0.1,DNS:localhost\n";
    }
    REQUIRE(run("openssl x509 -req -in " + d + "next.csr -CA " + d + name + "-ca.pem -CAkey " + d + name +
                "-ca.key -CAcreateserial -out " + d + "next.pem -days 2 -extfile " + d + "ext.cnf" + quiet) == 0);
    fs::rename(dir / "next.key", key());
    fs::rename(dir / "next.pem", cert());
  }
};

std::string https(const ServerProcess& srv, const std::string& path) {
  return "https://127.0.0.1:" + std::to_string(srv.port()) + path;
}

/// curl's output for `args` (its exit status in `status`).
std::string curl(const std::vector<std::string>& args, int* status = nullptr) {
  std::vector<std::string> argv = {"/usr/bin/curl", "-sS"};
  argv.insert(argv.end(), args.begin(), args.end());
  Process p(argv);
  const auto code = p.wait_exit(30s);
  if (status) *status = code.value_or(-1);
  return p.out();
}

json stats(const ServerProcess& srv, const Certificates& certs) {
  return json::parse(curl({"--cacert", certs.ca().string(), https(srv, "/stats")}));
}

}  // namespace

TEST_CASE("tls: streams and publishes over HTTPS, byte for byte as over HTTP, with curl and our tools") {
  Certificates certs;
  ServerProcess srv({"-i", "-k", "0", "-K", certs.key().string(), "-C", certs.cert().string()});
  INFO("server log:\n" << srv.log());
  Process stream({"/usr/bin/curl", "-sSN", "--cacert", certs.ca().string(), https(srv, "/poll/T")});
  Process client({program_path("eventsource-client"), "--url", https(srv, "/poll/T"), "--cacert", certs.ca().string(),
                  "-n", "2", "--data-only"});
  REQUIRE(wait_until([&] { return stats(srv, certs)["subscribers"] == 2; }, 20s));
  CHECK(curl({"--cacert", certs.ca().string(), "-d", "one", https(srv, "/ping/T")}) ==
        "{\"id\":\"1\",\"subscribers\":2}\n");
  Process request({program_path("eventsource-request"), "--url", https(srv, ""), "--cacert", certs.ca().string(), "T",
                   "ping", "two"});
  CHECK(request.wait_exit(20s) == 0);
  CHECK(client.wait_exit(20s) == 0);
  CHECK(client.out() == "one\ntwo\n");
  REQUIRE(wait_until([&] { return stream.out().size() >= 2 * wire("ping", "one", "1").size(); }, 20s));
  CHECK(stream.out() == wire("ping", "one", "1") + wire("ping", "two", "2"));
}

TEST_CASE("tls: a certificate the client does not trust is a clear error naming --cacert") {
  Certificates certs;
  ServerProcess srv({"-K", certs.key().string(), "-C", certs.cert().string()});
  Process request({program_path("eventsource-request"), "--url", https(srv, ""), "T", "ping", "x"});
  CHECK(request.wait_exit(20s) == 4);
  CHECK(request.err() == "eventsource-request: cannot reach 127.0.0.1:" + std::to_string(srv.port()) +
                             ": the server's TLS certificate was not accepted (unknown authority, wrong name or "
                             "expired); trust its authority with --cacert FILE (or, for testing only, --insecure)\n");
}

TEST_CASE("tls: plain HTTP and a stalled handshake on the TLS port are closed and counted, others are served") {
  Certificates certs;
  ServerProcess srv({"-k", "0", "--request-timeout", "1", "-K", certs.key().string(), "-C", certs.cert().string()});
  INFO("server log:\n" << srv.log());
  Process stream({"/usr/bin/curl", "-sSN", "--cacert", certs.ca().string(), https(srv, "/poll/T")});
  REQUIRE(wait_until([&] { return stats(srv, certs)["subscribers"] == 1; }, 20s));

  RawStream plain(srv.port());
  plain.send("GET /stats HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(plain.read_until_closed(10s));
  CHECK(plain.bytes().find("HTTP/1.1 200") == std::string::npos);

  RawStream stalled(srv.port()); // connects and says nothing
  CHECK(curl({"--cacert", certs.ca().string(), "-d", "served", https(srv, "/ping/T")}) ==
        "{\"id\":null,\"subscribers\":1}\n");
  const auto t0 = Clock::now();
  CHECK(stalled.read_until_closed(10s));
  CHECK(Clock::now() - t0 < 5s); // --request-timeout 1, checked once a second
  REQUIRE(wait_until([&] { return stream.out() == wire("ping", "served"); }, 20s));
  CHECK(stats(srv, certs)["tls_handshake_failures"] == 2);
}

TEST_CASE("tls: SIGHUP reloads the key and certificate with a stream open, a bad pair is refused and the old kept") {
  Certificates certs("a");
  ServerProcess srv({"-k", "0", "-K", certs.key().string(), "-C", certs.cert().string()});
  INFO("server log:\n" << srv.log());
  Process stream({"/usr/bin/curl", "-sSN", "--cacert", certs.ca("a").string(), https(srv, "/poll/T")});
  REQUIRE(wait_until([&] { return stats(srv, certs)["subscribers"] == 1; }, 20s));

  certs.make("b"); // a new authority and pair in the same files
  srv.process().signal(SIGHUP);
  REQUIRE(wait_until([&] { return srv.log().find("reloaded the TLS key and certificate") != std::string::npos; }));
  // New connections get the new pair; the open stream goes on.
  int status = 0;
  CHECK(curl({"--cacert", certs.ca("b").string(), "-d", "after", https(srv, "/ping/T")}, &status) ==
        "{\"id\":null,\"subscribers\":1}\n");
  curl({"--cacert", certs.ca("a").string(), https(srv, "/stats")}, &status);
  CHECK(status == 60); // curl: the peer's certificate cannot be verified
  REQUIRE(wait_until([&] { return stream.out() == wire("ping", "after"); }, 20s));

  {
    std::ofstream broken(certs.key());
    broken << "not a key\n";
  }
  srv.process().signal(SIGHUP);
  REQUIRE(wait_until([&] { return srv.log().find("keeping the current key and certificate") != std::string::npos; }));
  CHECK(std::regex_search(srv.log(), std::regex("error: cannot load the TLS (key|certificate) .*; keeping the current")));
  CHECK(curl({"--cacert", certs.ca("b").string(), "-d", "still", https(srv, "/ping/T")}) ==
        "{\"id\":null,\"subscribers\":1}\n");
}

TEST_CASE("tls: a key or certificate that does not load, or only one of them, is a usage error (exit 2)") {
  Certificates certs;
  Process missing({program_path("eventsource-server"), "-P", "0", "-K", (certs.dir / "nope.key").string(), "-C",
                   certs.cert().string()});
  CHECK(missing.wait_exit(10s) == 2);
  CHECK(missing.err().find("eventsource-server: cannot load the TLS key " + (certs.dir / "nope.key").string()) == 0);
  Process half({program_path("eventsource-server"), "-P", "0", "-C", certs.cert().string()});
  CHECK(half.wait_exit(10s) == 2);
  CHECK(half.err() == "eventsource-server: HTTPS needs both --keyfile and --certfile\n");
}

TEST_CASE("tls: a WebSocket over wss:// (python3-websockets with the test's authority)") {
  Certificates certs;
  ServerProcess srv({"-k", "0", "-K", certs.key().string(), "-C", certs.cert().string()});
  const fs::path script = certs.dir / "wss.py";
  {
    std::ofstream out(script);
    out << R"(import asyncio, ssl, sys, websockets
async def main(url, ca):
    context = ssl.create_default_context(cafile=ca)
    async with websockets.connect(url, ssl=context) as ws:
        print("open", flush=True)
        print(await ws.recv(), flush=True)
asyncio.run(main(sys.argv[1], sys.argv[2]))
)";
  }
  Process client({"/usr/bin/python3", script.string(), "wss://127.0.0.1:" + std::to_string(srv.port()) + "/poll/T",
                  certs.ca().string()});
  REQUIRE(client.wait_for_line(std::regex("^open$"), 20s, true));
  REQUIRE(wait_until([&] { return stats(srv, certs)["subscribers"] == 1; }, 20s));
  curl({"--cacert", certs.ca().string(), "-d", "secure", https(srv, "/ping/T")});
  CHECK(client.wait_exit(20s) == 0);
  CHECK(client.out() == "open\n{\"data\":\"secure\",\"event\":\"ping\"}\n");
}
