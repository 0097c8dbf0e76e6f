// SPDX-License-Identifier: GPL-3.0-or-later
// A real browser against eventsource-server: Debian's chromium, headless,
// runs tests/e2e/browser/eventsource_page.html, whose EventSource listens to
// a stream on another origin (so CORS is exercised as a browser does it).
// The page POSTs a record of everything it sees (open, error, each event's
// type, data and lastEventId) back to a small HTTP server inside the test,
// which serves the page too. The test publishes while the page listens and
// waits, with deadlines, for the records it expects; nothing depends on
// timing except generous deadlines.
//
// Needs chromium (Debian package `chromium`, installed by `scripts/dev setup`);
// set CHROMIUM=/path/to/chromium to use another binary.
//
// Running the page by hand:
//   build/apps/eventsource-server/eventsource-server -P 8888 -i --any-action --cors-origin '*'
//   python3 -m http.server -d tests/e2e/browser 8000
//   open http://127.0.0.1:8000/eventsource_page.html?stream=http://127.0.0.1:8888/poll/demo&events=ping,close,gap
//   curl -d 'hello' http://127.0.0.1:8888/ping/demo     (the page lists each event it receives)
// Running this test alone: build-dir/tests/e2e/browser_test (doctest options apply).

#include "harness.hpp"
#include "server_process.hpp"

#include <doctest/doctest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

using namespace es::test;
using nlohmann::json;
namespace fs = std::filesystem;

constexpr auto kBrowserDeadline = 30s; // a cold chromium start on a busy 2-core machine

fs::path browser_dir() { return fs::path(__FILE__).parent_path() / "browser"; }

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in, "cannot read " << path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

/// Serves the page and collects the records it POSTs to /report.
class PageHost {
 public:
  PageHost() {
    for (const char* name : {"eventsource_page.html", "websocket_page.html"}) {
      const std::string page = read_file(browser_dir() / name);
      server_.Get(std::string("/") + name, [page](const httplib::Request&, httplib::Response& res) {
        res.set_content(page, "text/html; charset=utf-8");
      });
    }
    server_.Post("/report", [this](const httplib::Request& req, httplib::Response& res) {
      json entry = json::parse(req.body, nullptr, false);
      if (!entry.is_discarded()) {
        std::lock_guard lock(mu_);
        records_.push_back(std::move(entry));
      }
      res.status = 204;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    REQUIRE_MESSAGE(port_ > 0, "the page host cannot bind a port");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~PageHost() {
    server_.stop();
    thread_.join();
  }
  PageHost(const PageHost&) = delete;
  PageHost& operator=(const PageHost&) = delete;

  std::string origin() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string websocket_page_url(int stream_port, const std::string& path, bool resume = false) const {
    return origin() + "/websocket_page.html?stream=ws://127.0.0.1:" + std::to_string(stream_port) + path +
           (resume ? "&resume=1" : "");
  }
  std::vector<json> of_kind(const std::string& kind) const {
    std::vector<json> out;
    for (const json& r : records())
      if (r["kind"] == kind) out.push_back(r);
    return out;
  }
  std::string page_url(int stream_port, const std::string& token, const std::string& events) const {
    return origin() + "/eventsource_page.html?stream=http://127.0.0.1:" + std::to_string(stream_port) + "/poll/" +
           token + "&events=" + events;
  }

  /// The records so far, in the order the page made them.
  std::vector<json> records() const {
    std::vector<json> copy;
    {
      std::lock_guard lock(mu_);
      copy = records_;
    }
    std::sort(copy.begin(), copy.end(), [](const json& a, const json& b) { return a["seq"] < b["seq"]; });
    return copy;
  }
  std::size_t count(const std::string& kind) const {
    auto all = records();
    return static_cast<std::size_t>(
        std::count_if(all.begin(), all.end(), [&](const json& r) { return r["kind"] == kind; }));
  }
  /// The events received, as {type, data, lastEventId}.
  std::vector<json> events() const {
    std::vector<json> out;
    for (const json& r : records()) {
      if (r["kind"] == "event") out.push_back({{"type", r["type"]}, {"data", r["data"]}, {"lastEventId", r["lastEventId"]}});
    }
    return out;
  }
  /// Every record, one a line, for failure messages.
  std::string transcript() const {
    std::string text;
    for (const json& r : records()) text += r.dump() + "\n";
    return text;
  }

 private:
  httplib::Server server_;
  int port_ = -1;
  std::thread thread_;
  mutable std::mutex mu_;
  std::vector<json> records_;
};

json event(const std::string& type, const std::string& data, const std::string& last_event_id) {
  return {{"type", type}, {"data", data}, {"lastEventId", last_event_id}};
}

std::string chromium_path() {
  const char* from_env = std::getenv("CHROMIUM");
  std::string path = from_env && *from_env ? from_env : "/usr/bin/chromium";
  REQUIRE_MESSAGE(fs::exists(path), "no browser at " << path
                                                     << ": install Debian's chromium (scripts/dev setup) or set CHROMIUM");
  return path;
}

/// Children of this process named chromium: the browser's helpers (zygote,
/// renderer, GPU process) once the browser is gone and they were handed to us.
std::vector<pid_t> chromium_orphans() {
  std::vector<pid_t> pids;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    // pid (comm) state ppid ...
    size_t open = line.find('('), close = line.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 1));
    char state = 0;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == ::getpid() && line.substr(open + 1, close - open - 1).starts_with("chrom"))
      pids.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return pids;
}

/// A headless chromium showing one page, with a profile of its own.
class Browser {
 public:
  explicit Browser(const std::string& url, std::vector<std::string> extra_args = {}) {
    // Chromium's helper processes outlive the browser by a moment; as a
    // subreaper this test inherits and reaps them instead of leaving zombies
    // to an init that may not reap (as in some containers).
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    std::string dir_template = (fs::temp_directory_path() / "es-browser-XXXXXX").string();
    REQUIRE(::mkdtemp(dir_template.data()) != nullptr);
    profile_ = dir_template;
    std::vector<std::string> argv{
        chromium_path(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
        "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-extensions", "--user-data-dir=" + profile_};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    argv.push_back(url);
    process_ = std::make_unique<Process>(std::move(argv));
  }
  ~Browser() {
    if (process_->running()) {
      process_->signal(SIGTERM);
      process_->wait_exit(10s);
    }
    process_.reset(); // SIGKILLs it if SIGTERM was not enough
    wait_until(
        [] {
          for (pid_t pid : chromium_orphans()) ::waitpid(pid, nullptr, WNOHANG);
          return chromium_orphans().empty();
        },
        10s);
    for (pid_t pid : chromium_orphans()) { // still running after the deadline
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    std::error_code ignored;
    fs::remove_all(profile_, ignored);
  }
  Browser(const Browser&) = delete;
  Browser& operator=(const Browser&) = delete;

  const std::string& profile() const { return profile_; }
  /// The end of chromium's stderr, for failure messages.
  std::string log() const {
    std::string err = process_->err();
    return err.size() > 4000 ? err.substr(err.size() - 4000) : err;
  }

 private:
  std::string profile_;
  std::unique_ptr<Process> process_;
};

/// eventsource-server (server_process.hpp), with the options as given.
class EventServer : public ServerProcess {
 public:
  using ServerProcess::ServerProcess;

  /// POSTs `body`; requires an answer with `status` and returns its JSON body.
  json post(const std::string& path, const std::string& body, int status = 200) const {
    auto c = client();
    auto res = c.Post(path.c_str(), body, "text/plain");
    REQUIRE_MESSAGE(static_cast<bool>(res), "POST " << path << " failed: " << httplib::to_string(res.error()));
    INFO("POST " << path << " answered " << res->status << ": " << res->body);
    REQUIRE(res->status == status);
    return json::parse(res->body);
  }
};

} // namespace

TEST_CASE("browser: EventSource dispatches default, named, multi-line and UTF-8 events with their ids as published") {
  PageHost page;
  EventServer srv({"-i", "--any-action", "--cors-origin", page.origin()});
  Browser browser(page.page_url(srv.port(), "browser", "ping,custom,close"));
  INFO("page records:\n" << page.transcript());
  INFO("server log:\n" << srv.log());
  INFO("chromium log:\n" << browser.log());
  REQUIRE(wait_until([&] { return page.count("open") == 1; }, kBrowserDeadline));

  const std::string id1 = srv.post("/message/browser", "plain h\xc3\xa9llo \xe2\x9c\x93")["id"];
  const std::string id2 = srv.post("/ping/browser", "line 1\nline 2\r\nline 3\rline 4")["id"];
  const std::string id3 = srv.post("/custom/browser", "{\"x\": 1}")["id"];
  const json answer = srv.post("/ping/browser", "last");
  CHECK(answer["subscribers"] == 1);
  const std::string id4 = answer["id"];

  REQUIRE(wait_until([&] { return page.events().size() >= 4; }, kBrowserDeadline));
  CHECK(page.events() == std::vector<json>{
                             event("message", "plain h\xc3\xa9llo \xe2\x9c\x93", id1),
                             event("ping", "line 1\nline 2\nline 3\nline 4", id2),
                             event("custom", "{\"x\": 1}", id3),
                             event("ping", "last", id4),
                         });
  CHECK(std::stoull(id1) < std::stoull(id2));
  CHECK(std::stoull(id2) < std::stoull(id3));
  CHECK(std::stoull(id3) < std::stoull(id4));
  CHECK(page.count("error") == 0);
  CHECK(page.count("open") == 1);
}

TEST_CASE("browser: after close the browser reconnects with Last-Event-ID and receives the event it missed") {
  PageHost page;
  EventServer srv({"-i", "--cors-origin", page.origin()});
  Browser browser(page.page_url(srv.port(), "resume", "ping,close,gap"));
  INFO("page records:\n" << page.transcript());
  INFO("server log:\n" << srv.log());
  INFO("chromium log:\n" << browser.log());
  REQUIRE(wait_until([&] { return page.count("open") == 1; }, kBrowserDeadline));

  // The browser waits this long before reconnecting: ample time to publish
  // while it is away, so the event can only reach it by replay.
  srv.post("/retry/resume", "3000");
  const std::string before = srv.post("/ping/resume", "before")["id"];
  REQUIRE(wait_until([&] { return page.events().size() == 1; }, kBrowserDeadline));

  const std::string closed = srv.post("/close/resume", "bye")["id"];
  const json stored = srv.post("/ping/resume", "missed", 202);
  CHECK(stored["subscribers"] == 0);
  CHECK(stored["stored"] == true);
  const std::string missed = stored["id"];

  REQUIRE(wait_until([&] { return page.events().size() >= 3; }, kBrowserDeadline));
  CHECK(page.events() == std::vector<json>{event("ping", "before", before), event("close", "bye", closed),
                                           event("ping", "missed", missed)});
  CHECK(page.count("open") == 2);

  // The resumed stream is live.
  const json live = srv.post("/ping/resume", "live");
  CHECK(live["subscribers"] == 1);
  REQUIRE(wait_until([&] { return page.events().size() >= 4; }, kBrowserDeadline));
  CHECK(page.events().back() == event("ping", "live", live["id"]));

  // The second open comes after the close event and before the replay.
  auto records = page.records();
  std::vector<std::string> order;
  for (const json& r : records) {
    if (r["kind"] == "open") order.push_back("open");
    if (r["kind"] == "event") order.push_back(r["data"].get<std::string>());
  }
  CHECK(order == std::vector<std::string>{"open", "before", "bye", "open", "missed", "live"});
}

TEST_CASE("browser: after a server restart the browser reconnects with its Last-Event-ID and is told of the gap") {
  PageHost page;
  auto srv = std::make_unique<EventServer>(std::vector<std::string>{"-i", "--cors-origin", page.origin()});
  const int port = srv->port();
  Browser browser(page.page_url(port, "restart", "ping,gap"));
  INFO("page records:\n" << page.transcript());
  INFO("chromium log:\n" << browser.log());
  REQUIRE(wait_until([&] { return page.count("open") == 1; }, kBrowserDeadline));

  srv->post("/retry/restart", "300"); // reconnect soon after the restart
  srv->post("/ping/restart", "first");
  const std::string last = srv->post("/ping/restart", "second")["id"];
  REQUIRE(wait_until([&] { return page.events().size() == 2; }, kBrowserDeadline));

  auto status = srv->stop(SIGTERM, 10s);
  REQUIRE(status);
  CHECK(*status == 0);
  srv.reset();

  // History lived in the old process: the new one does not know the id.
  srv = std::make_unique<EventServer>(std::vector<std::string>{"-i", "--cors-origin", page.origin()}, port);
  INFO("server log (after restart):\n" << srv->log());
  REQUIRE(wait_until([&] { return page.count("open") == 2; }, kBrowserDeadline));
  REQUIRE(wait_until([&] { return page.events().size() >= 3; }, kBrowserDeadline));
  // The gap event carries the id the browser sent; having no id line, it
  // leaves the browser's last event id as it was.
  CHECK(page.events()[2] == event("gap", last, last));

  const json after = srv->post("/ping/restart", "after the restart");
  CHECK(after["subscribers"] == 1);
  REQUIRE(wait_until([&] { return page.events().size() >= 4; }, kBrowserDeadline));
  CHECK(page.events()[3] == event("ping", "after the restart", after["id"]));
}

TEST_CASE("browser: a WebSocket subscriber gets each kind of event exactly, then close 1000 after the close action") {
  PageHost page;
  EventServer srv({"-i", "--cors-origin", page.origin()});
  Browser browser(page.websocket_page_url(srv.port(), "/poll/ws"));
  INFO("page records:\n" << page.transcript());
  INFO("server log:\n" << srv.log());
  INFO("chromium log:\n" << browser.log());
  REQUIRE(wait_until([&] { return page.count("open") == 1; }, kBrowserDeadline));

  srv.post("/ping/ws", "plain h\xc3\xa9llo \xe2\x9c\x93");
  srv.post("/ping/ws", "line 1\nline 2\r\nline 3");
  srv.post("/retry/ws", "2500");
  srv.post("/close/ws", "bye");
  REQUIRE(wait_until([&] { return page.count("close") == 1; }, kBrowserDeadline));
  const auto messages = page.of_kind("message");
  REQUIRE(messages.size() == 4);
  CHECK(messages[0]["event"] == json{{"data", "plain h\xc3\xa9llo \xe2\x9c\x93"}, {"event", "ping"}, {"id", "1"}});
  CHECK(messages[1]["event"] == json{{"data", "line 1\nline 2\r\nline 3"}, {"event", "ping"}, {"id", "2"}});
  CHECK(messages[2]["event"] == json{{"data", ""}, {"id", "3"}, {"retry", 2500}});
  CHECK(messages[3]["event"] == json{{"data", "bye"}, {"event", "close"}, {"id", "4"}});
  const json close = page.of_kind("close")[0];
  CHECK(close["code"] == 1000);
  CHECK(close["reason"] == "token closed");
  CHECK(close["wasClean"] == true);
}

TEST_CASE("browser: a WebSocket that reopens with ?lastEventId= gets the events it missed") {
  PageHost page;
  EventServer srv({"-i", "--cors-origin", page.origin()});
  Browser browser(page.websocket_page_url(srv.port(), "/poll/wsresume", /*resume=*/true));
  INFO("page records:\n" << page.transcript());
  INFO("server log:\n" << srv.log());
  REQUIRE(wait_until([&] { return page.count("open") == 1; }, kBrowserDeadline));
  srv.post("/ping/wsresume", "before");
  srv.post("/close/wsresume", "");
  REQUIRE(wait_until([&] { return page.count("close") == 1; }, kBrowserDeadline));
  // The page reopens 300 ms after the close: publish while it is away.
  srv.post("/ping/wsresume", "missed", 202);
  REQUIRE(wait_until([&] { return page.count("open") == 2; }, kBrowserDeadline));
  REQUIRE(wait_until([&] { return page.count("message") >= 3; }, kBrowserDeadline));
  const auto opens = page.of_kind("open");
  CHECK(opens[1]["url"].get<std::string>().ends_with("/poll/wsresume?lastEventId=2"));
  CHECK(page.of_kind("message")[2]["event"] == json{{"data", "missed"}, {"event", "ping"}, {"id", "3"}});
}

TEST_CASE("browser: the --demo page shows an event published with eventsource-request, over EventSource and WebSocket") {
  EventServer srv({"-i", "--demo"});
  INFO("server log:\n" << srv.log());
  Browser browser("about:blank", {"--remote-debugging-port=0", "--remote-allow-origins=*"});
  INFO("chromium log:\n" << browser.log());
  const fs::path screenshot = fs::path(ES_BINARY_DIR) / "demo-page.png";
  for (const std::string transport : {"eventsource", "websocket"}) {
    CAPTURE(transport);
    const std::string token = "demo-" + transport;
    std::vector<std::string> args = {"/usr/bin/python3", (browser_dir() / "demo_driver.py").string(), browser.profile(),
                                     "http://127.0.0.1:" + std::to_string(srv.port()) + "/?token=" + token +
                                         "&transport=" + transport + "&connect=1",
                                     "1"};
    if (transport == "websocket") args.push_back(screenshot.string());
    Process driver(args);
    REQUIRE_MESSAGE(driver.wait_for_line(std::regex("^open$"), kBrowserDeadline, true), driver.err());
    Process request({program_path("eventsource-request"), "-P", std::to_string(srv.port()), token, "ping",
                     "hello from eventsource-request"});
    REQUIRE(request.wait_exit(10s) == 0);
    REQUIRE_MESSAGE(driver.wait_exit(kBrowserDeadline) == 0, driver.err());
    const std::string out = driver.out();
    const auto at = out.find("events ");
    REQUIRE(at != std::string::npos);
    const json events = json::parse(out.substr(at + 7, out.find('\n', at) - at - 7));
    REQUIRE(events.size() == 1);
    CHECK(events[0] == json{{"transport", transport}, {"type", "ping"}, {"id", events[0]["id"]}, {"data", "hello from eventsource-request"}});
    CHECK_FALSE(events[0]["id"].get<std::string>().empty());
  }
  CHECK(fs::file_size(screenshot) > 10000);
}

TEST_CASE("browser: EventSource over HTTPS (-K/-C) receives events from a page on another origin") {
  char pattern[] = "/tmp/es-browser-tls-XXXXXX";
  const fs::path dir = ::mkdtemp(pattern);
  struct Remove {
    fs::path p;
    ~Remove() { fs::remove_all(p); }
  } remove{dir};
  const std::string d = dir.string() + "/";
  REQUIRE(std::system(("openssl req -x509 -newkey rsa:2048 -nodes -keyout " + d + "key.pem -out " + d +
                       "cert.pem -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1")
                          .c_str()) == 0);
  PageHost page;
  EventServer srv({"-i", "--cors-origin", page.origin(), "-K", d + "key.pem", "-C", d + "cert.pem"});
  // The test's certificate is self-signed: the browser is told to accept it.
  std::string url = page.page_url(srv.port(), "secure", "ping");
  url.replace(url.find("stream=http://"), 14, "stream=https://");
  Browser browser(url, {"--ignore-certificate-errors"});
  INFO("page records:\n" << page.transcript());
  INFO("server log:\n" << srv.log());
  INFO("chromium log:\n" << browser.log());
  REQUIRE(wait_until([&] { return page.count("open") == 1; }, kBrowserDeadline));
  auto c = httplib::Client("https://127.0.0.1:" + std::to_string(srv.port()));
  c.enable_server_certificate_verification(false);
  auto res = c.Post("/ping/secure", "over tls", "text/plain");
  REQUIRE(res);
  REQUIRE(res->status == 200);
  REQUIRE(wait_until([&] { return page.events().size() == 1; }, kBrowserDeadline));
  CHECK(page.events()[0] == event("ping", "over tls", "1"));
}

TEST_CASE("browser: with --subscribe-key an EventSource subscribes with ?access_token= (it cannot set headers)") {
  PageHost page;
  Process mint({std::string(ES_SOURCE_DIR) + "/scripts/make-jwt", "--key", "s3cret", "--subscribe", "jwt-*"});
  REQUIRE(mint.wait_exit(20s) == 0);
  std::string jwt = mint.out();
  jwt.pop_back();
  EventServer srv({"-i", "--cors-origin", page.origin(), "--subscribe-key", "s3cret"});
  std::string url = page.page_url(srv.port(), "jwt-page", "ping");
  url += "&x=1"; // keep the page's own parameters; the stream URL carries the token
  url.replace(url.find("/poll/jwt-page"), 14, "/poll/jwt-page%3Faccess_token%3D" + jwt);
  Browser browser(url);
  INFO("page records:\n" << page.transcript());
  INFO("server log:\n" << srv.log());
  REQUIRE(wait_until([&] { return page.count("open") == 1; }, kBrowserDeadline));
  const std::string id = srv.post("/ping/jwt-page", "authorized")["id"];
  REQUIRE(wait_until([&] { return page.events().size() == 1; }, kBrowserDeadline));
  CHECK(page.events()[0] == event("ping", "authorized", id));
  CHECK(srv.log().find(jwt) == std::string::npos);
}
