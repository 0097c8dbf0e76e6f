// SPDX-License-Identifier: GPL-3.0-or-later
// The soak: eventsource-server for about a minute (ES_SOAK_SECONDS) under
// churn and faults, then checked for what users would notice.
//
// - ~1,500 subscribers on 5 tokens connect and leave at random, each one
//   resuming with the Last-Event-ID it last saw; some leave with a reset
//   (SO_LINGER 0) while events are being written to them;
// - 3 publishers at different rates, 1 KB events carrying their send time;
// - 2% of the subscribers stop reading (a small receive window) and must be
//   cut off (--max-queue) without hurting the others;
// - 200 slowloris connections send half a request head and hang, renewed as
//   the server closes them (--request-timeout 3).
//
// At the end: every well-behaved subscriber received, in each session,
// every event of its token exactly once and in order — from the one after
// the id it resumed with (or an `event: gap` where history ended) to the
// last one published; their publish-to-receive latency stayed within a
// generous bound while the slowloris crowd was there; and once everyone has
// left, the server's descriptors are back to their idle count and its RSS
// near its idle value.

#include "server_process.hpp"

#include <doctest/doctest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <es/event.hpp>
#include <es/parser.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

using namespace es::test;
using nlohmann::json;

constexpr int kTokens = 5;

std::uint64_t now_ns() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count());
}

int connect_to(int port, bool small_window) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  if (small_window) {
    const int small = 4096;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int r = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  REQUIRE((r == 0 || errno == EINPROGRESS));
  return fd;
}

std::size_t open_descriptors(pid_t pid) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd"))
    ++n;
  return n;
}

std::size_t resident_bytes(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6)) * 1024;
  return 0;
}

struct Session {
  std::string resumed_from; // Last-Event-ID sent; "" for a first connection
  std::uint64_t opened_ns = 0;
  bool gap = false;
  std::vector<std::uint64_t> ids;
};

struct Subscriber {
  int token = 0;
  bool slow = false; // never reads once connected
  int fd = -1;
  bool connected = false; // the request was sent
  bool streaming = false; // the head arrived
  std::string head;
  std::unique_ptr<es::Parser> parser;
  std::vector<Session> sessions;
  std::string last_id;
  Clock::time_point leave_at{}, rejoin_at{};
};

struct Accepted {
  std::mutex mu;
  std::vector<std::vector<std::uint64_t>> ids = std::vector<std::vector<std::uint64_t>>(kTokens);
};

}  // namespace

TEST_CASE("soak: churn, resumes, slow and reset subscribers, slowloris: nothing lost or repeated, resources back") {
  const int seconds = std::getenv("ES_SOAK_SECONDS") ? std::atoi(std::getenv("ES_SOAK_SECONDS")) : 60;
  const int subscribers = std::getenv("ES_SOAK_SUBSCRIBERS") ? std::atoi(std::getenv("ES_SOAK_SUBSCRIBERS")) : 1500;
  ServerProcess srv({"-i", "-k", "1000", "--max-queue", "65536", "--request-timeout", "3", "--access-log", "off",
                     "--history-memory", std::to_string(16 << 20)});
  INFO("server log (end):\n" << srv.log().substr(srv.log().size() > 3000 ? srv.log().size() - 3000 : 0));
  const pid_t pid = srv.process().pid();
  REQUIRE(wait_until([&] { return static_cast<bool>(srv.client().Get("/health")); }));
  const std::size_t idle_fds = open_descriptors(pid);
  const std::size_t idle_rss = resident_bytes(pid);

  std::mt19937 random(20261129);
  std::vector<Subscriber> subs(static_cast<std::size_t>(subscribers));
  for (std::size_t i = 0; i < subs.size(); ++i) {
    subs[i].token = static_cast<int>(i % kTokens);
    subs[i].slow = i % 50 == 7;
    if (subs[i].slow) subs[i].token = kTokens; // a token of its own, fed big events to fill its queue
    subs[i].rejoin_at = Clock::now() + std::chrono::milliseconds(random() % 2000);
  }
  std::vector<std::uint64_t> latencies;

  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  REQUIRE(ep >= 0);

  // Publishers: 3 threads at different paces, each event carrying its send time.
  Accepted accepted;
  std::atomic<bool> publishing{true};
  std::atomic<int> publish_failures{0};
  std::vector<std::thread> publishers;
  for (int p = 0; p < 3; ++p) {
    publishers.emplace_back([&, p] {
      auto c = srv.client();
      c.set_keep_alive(true);
      std::mt19937 r(static_cast<unsigned>(p));
      const auto pause = std::chrono::milliseconds(5 + 10 * p);
      while (publishing) {
        const int token = static_cast<int>(r() % kTokens);
        std::string data = std::to_string(now_ns()) + " ";
        data.resize(1000, 'x');
        auto res = c.Post("/ping/soak" + std::to_string(token), data, "text/plain");
        if (!res || (res->status != 200 && res->status != 202)) {
          ++publish_failures;
          continue;
        }
        const std::string id = json::parse(res->body)["id"];
        {
          std::lock_guard lock(accepted.mu);
          accepted.ids[static_cast<std::size_t>(token)].push_back(std::stoull(id));
        }
        std::this_thread::sleep_for(pause); // pacing of the load, not a wait for a result
      }
    });
  }

  // The slow subscribers' token: 60 KB events, so that a reader that stopped
  // passes --max-queue within seconds whatever the kernel buffers take.
  publishers.emplace_back([&] {
    auto c = srv.client();
    c.set_keep_alive(true);
    const std::string big(60'000, 'b');
    while (publishing) {
      auto res = c.Post("/ping/soak" + std::to_string(kTokens), std::to_string(now_ns()) + " " + big, "text/plain");
      if (!res || (res->status != 200 && res->status != 202)) ++publish_failures;
      std::this_thread::sleep_for(20ms); // pacing of the load
    }
  });

  // Slowloris: half a request head, then nothing; renewed when closed.
  std::vector<int> loris(200, -1);
  const auto renew_loris = [&] {
    for (int& fd : loris) {
      if (fd >= 0) {
        char b;
        const ssize_t n = ::recv(fd, &b, 1, MSG_DONTWAIT | MSG_PEEK);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
          ::close(fd);
          fd = -1;
        }
      }
      if (fd < 0) {
        fd = connect_to(srv.port(), false);
        static const char half[] = "GET /poll/loris HTTP/1.1\r\nHost: soak\r\nX-Slow: ";
        (void)::send(fd, half, sizeof half - 1, MSG_NOSIGNAL); // may not be connected yet: then it never speaks
      }
    }
  };

  const auto leave = [&](Subscriber& s, bool reset) {
    if (s.fd < 0) return;
    if (reset) {
      const linger rst{1, 0};
      ::setsockopt(s.fd, SOL_SOCKET, SO_LINGER, &rst, sizeof rst);
    }
    ::close(s.fd);
    s.fd = -1;
    s.connected = s.streaming = false;
    s.parser.reset();
    s.head.clear();
  };

  const auto join = [&](std::size_t index) {
    Subscriber& s = subs[index];
    s.fd = connect_to(srv.port(), s.slow);
    s.sessions.push_back({s.last_id, now_ns(), false, {}});
    epoll_event ev{};
    ev.events = EPOLLOUT | EPOLLIN;
    ev.data.u64 = index;
    REQUIRE(::epoll_ctl(ep, EPOLL_CTL_ADD, s.fd, &ev) == 0);
    s.leave_at = Clock::now() + std::chrono::milliseconds(500 + random() % 5000);
  };

  std::vector<char> buffer(1 << 16);
  const auto read_from = [&](std::size_t index) {
    Subscriber& s = subs[index];
    for (;;) {
      const ssize_t n = ::recv(s.fd, buffer.data(), buffer.size(), 0);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      if (n <= 0) {
        leave(s, false); // the server ended it (slow consumer, or a close)
        s.rejoin_at = Clock::now() + std::chrono::milliseconds(random() % 1000);
        return;
      }
      std::string_view bytes(buffer.data(), static_cast<std::size_t>(n));
      if (!s.streaming) {
        s.head.append(bytes);
        const auto end = s.head.find("\r\n\r\n");
        if (end == std::string::npos) continue;
        REQUIRE_MESSAGE(s.head.rfind("HTTP/1.1 200", 0) == 0, s.head);
        s.streaming = true;
        s.parser = std::make_unique<es::Parser>(es::Parser::Handlers{
            [&s, &latencies](const es::Event& e) {
              Session& session = s.sessions.back();
              if (e.name == "gap") {
                session.gap = true;
                return;
              }
              session.ids.push_back(std::stoull(e.id));
              s.last_id = e.id;
              // Live events only: a replay's were sent while the subscriber was away.
              const std::uint64_t sent = std::stoull(e.data.substr(0, e.data.find(' ')));
              if (sent >= session.opened_ns) latencies.push_back(now_ns() - sent);
            },
            {}, {}});
        bytes = std::string_view(s.head).substr(end + 4);
        const std::string rest(bytes);
        s.parser->feed(rest);
        std::string().swap(s.head);
        continue;
      }
      REQUIRE(s.parser->feed(bytes) == es::ParseError::none);
    }
  };

  const auto deadline = Clock::now() + std::chrono::seconds(seconds);
  std::vector<epoll_event> events(1024);
  std::size_t resets = 0, leaves = 0, joins = 0;
  while (Clock::now() < deadline) {
    renew_loris();
    const auto now = Clock::now();
    for (std::size_t i = 0; i < subs.size(); ++i) {
      Subscriber& s = subs[i];
      if (s.fd < 0 && now >= s.rejoin_at) {
        join(i);
        ++joins;
      } else if (s.fd >= 0 && s.streaming && !s.slow && now >= s.leave_at) {
        const bool reset = random() % 4 == 0;
        resets += reset;
        ++leaves;
        leave(s, reset);
        s.rejoin_at = now + std::chrono::milliseconds(random() % 2000);
      }
    }
    const int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), 20);
    for (int k = 0; k < n; ++k) {
      const std::size_t index = events[static_cast<std::size_t>(k)].data.u64;
      Subscriber& s = subs[index];
      if (s.fd < 0) continue;
      if (!s.connected && (events[static_cast<std::size_t>(k)].events & EPOLLOUT)) {
        std::string request = "GET /poll/soak" + std::to_string(s.token) + " HTTP/1.1\r\nHost: soak\r\n";
        if (!s.last_id.empty()) request += "Last-Event-ID: " + s.last_id + "\r\n";
        request += "\r\n";
        if (::send(s.fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
          leave(s, false);
          s.sessions.pop_back();
          s.rejoin_at = Clock::now();
          continue;
        }
        s.connected = true;
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = index;
        ::epoll_ctl(ep, EPOLL_CTL_MOD, s.fd, &ev);
        continue;
      }
      if (s.slow && s.streaming) continue; // stops reading once its stream is open
      read_from(index);
    }
  }
  publishing = false;
  for (auto& t : publishers) t.join();

  // Drain: every connected, reading subscriber catches up with its token's last event.
  std::map<int, std::uint64_t> last_accepted;
  for (int t = 0; t < kTokens; ++t)
    last_accepted[t] = accepted.ids[static_cast<std::size_t>(t)].empty() ? 0 : accepted.ids[static_cast<std::size_t>(t)].back();
  const auto caught_up = [&] {
    for (const Subscriber& s : subs)
      if (s.fd >= 0 && s.streaming && !s.slow && (s.sessions.back().ids.empty() ? true : s.sessions.back().ids.back() < last_accepted[s.token]))
        if (!s.sessions.back().ids.empty()) return false;
    return true;
  };
  const auto drain_deadline = Clock::now() + 30s;
  while (!caught_up() && Clock::now() < drain_deadline) {
    const int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), 50);
    for (int k = 0; k < n; ++k) {
      const std::size_t index = events[static_cast<std::size_t>(k)].data.u64;
      if (subs[index].fd >= 0 && subs[index].streaming && !subs[index].slow) read_from(index);
    }
  }
  CHECK(caught_up());

  // Checks: per token, the order of acceptance is the order of ids.
  std::vector<std::map<std::uint64_t, std::size_t>> position(kTokens);
  for (int t = 0; t < kTokens; ++t) {
    auto& ids = accepted.ids[static_cast<std::size_t>(t)];
    std::sort(ids.begin(), ids.end());
    for (std::size_t i = 0; i < ids.size(); ++i) position[static_cast<std::size_t>(t)][ids[i]] = i;
  }
  std::size_t checked_sessions = 0, delivered = 0, seams = 0;
  for (const Subscriber& s : subs) {
    if (s.slow) continue;
    const auto& pos = position[static_cast<std::size_t>(s.token)];
    const auto& ids = accepted.ids[static_cast<std::size_t>(s.token)];
    std::uint64_t previous = 0;
    for (const Session& session : s.sessions) {
      ++checked_sessions;
      for (std::size_t i = 0; i < session.ids.size(); ++i) {
        const std::uint64_t id = session.ids[i];
        ++delivered;
        REQUIRE_MESSAGE(pos.contains(id), "an event id no publisher was given: " << id);
        REQUIRE_MESSAGE(id > previous, "repeated or out of order: " << id << " after " << previous);
        if (i > 0) REQUIRE_MESSAGE(pos.at(id) == pos.at(session.ids[i - 1]) + 1, "lost between " << session.ids[i - 1] << " and " << id);
        previous = id;
      }
      // The seam: after Last-Event-ID L, the next event is the one after L.
      if (!session.resumed_from.empty() && !session.gap && !session.ids.empty()) {
        const std::uint64_t from = std::stoull(session.resumed_from);
        const auto next = std::upper_bound(ids.begin(), ids.end(), from);
        REQUIRE(next != ids.end());
        CHECK_MESSAGE(*next == session.ids.front(), "resumed after " << from << " but the first event was " << session.ids.front());
        ++seams;
      }
    }
  }
  std::sort(latencies.begin(), latencies.end());
  const double p99_ms = latencies.empty() ? 0 : static_cast<double>(latencies[latencies.size() * 99 / 100]) / 1e6;
  MESSAGE("soak: " << joins << " joins, " << leaves << " leaves (" << resets << " by reset), " << checked_sessions
                   << " sessions, " << seams << " resume seams checked, " << delivered << " deliveries, p99 "
                   << p99_ms << " ms");
  CHECK(publish_failures == 0);
  CHECK(seams > 100);
  CHECK(delivered > 10000);
  CHECK(p99_ms < 5000); // a bound on being served at all, not a speed figure
  const json stats = json::parse(srv.client().Get("/stats")->body);
  CHECK(stats["slow_disconnects"].get<int>() >= 1);

  // Everyone leaves: descriptors back to idle, memory near it.
  for (Subscriber& s : subs) leave(s, false);
  for (int& fd : loris) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  ::close(ep);
  CHECK(wait_until([&] { return open_descriptors(pid) <= idle_fds; }, 20s));
  CHECK(resident_bytes(pid) < idle_rss + (48u << 20)); // history within --history-memory (16 MB), plus the allocator's slack
  CHECK(srv.stop() == 0);
}
