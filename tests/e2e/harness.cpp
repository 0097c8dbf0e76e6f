// SPDX-License-Identifier: GPL-3.0-or-later
#include "harness.hpp"

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace es::test {

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (Clock::now() >= deadline) return pred();
    std::this_thread::sleep_for(5ms);
  }
}

namespace {

// The first line of each sanitizer's report (ASan, LSan, TSan; UBSan's
// "file:line:col: runtime error: ..."), as GCC's and Clang's runtimes write them.
bool has_sanitizer_report(const std::string& err) {
  for (const char* marker : {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "WARNING: ThreadSanitizer",
                             "ERROR: ThreadSanitizer", ": runtime error: ", "SUMMARY: UndefinedBehaviorSanitizer"})
    if (err.find(marker) != std::string::npos) return true;
  return false;
}

}  // namespace

Process::Process(std::vector<std::string> argv, std::vector<std::string> extra_env) {
  if (!argv.empty()) program_ = argv[0];
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe: " + std::string(std::strerror(errno)));

  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) env_strings.emplace_back(*e);
  for (auto& e : extra_env) env_strings.push_back(e);
  std::vector<char*> env;
  for (auto& e : env_strings) env.push_back(e.data());
  env.push_back(nullptr);

  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork: " + std::string(std::strerror(errno)));
  if (pid_ == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    execve(args[0], args.data(), env.data());
    std::fprintf(stderr, "exec %s: %s\n", args[0], std::strerror(errno));
    _exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  stdin_fd_ = in[1];
  out_thread_ = std::thread([this, fd = out[0]] { reader(fd, out_); });
  err_thread_ = std::thread([this, fd = err[0]] { reader(fd, err_); });
}

Process::~Process() {
  if (running()) {
    ::kill(pid_, SIGKILL);
    wait_exit(10s);
  }
  close_stdin();
  if (out_thread_.joinable()) out_thread_.join();
  if (err_thread_.joinable()) err_thread_.join();
  if (has_sanitizer_report(err_)) {
    std::fprintf(stderr, "harness: %s wrote a sanitizer report; its stderr:\n%s\n", program_.c_str(), err_.c_str());
    std::fflush(stderr);
    // Not abort(): the test runner's signal handler would run under the
    // sanitizer, which reports it (TSan: signal-unsafe call in a handler).
    std::_Exit(86);
  }
}

void Process::reader(int fd, std::string& sink) {
  std::array<char, 4096> buf;
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    std::lock_guard lock(mu_);
    sink.append(buf.data(), static_cast<size_t>(n));
    cv_.notify_all();
  }
  ::close(fd);
  std::lock_guard lock(mu_);
  --open_pipes_;
  cv_.notify_all();
}

std::optional<std::smatch> Process::wait_for_line(const std::regex& pattern, std::chrono::milliseconds timeout,
                                                  bool from_stdout) {
  const auto deadline = Clock::now() + timeout;
  std::unique_lock lock(mu_);
  for (;;) {
    static thread_local std::string copy;
    copy = from_stdout ? out_ : err_;
    size_t start = 0;
    while (start < copy.size()) {
      size_t end = copy.find('\n', start);
      if (end == std::string::npos) break;
      std::smatch m;
      auto first = copy.cbegin() + static_cast<std::ptrdiff_t>(start);
      auto last = copy.cbegin() + static_cast<std::ptrdiff_t>(end);
      if (std::regex_search(first, last, m, pattern)) return m;
      start = end + 1;
    }
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout) return std::nullopt;
  }
}

int Process::wait_for_port(std::chrono::milliseconds timeout) {
  auto m = wait_for_line(std::regex(R"(listening on [^ ]*:(\d+))"), timeout);
  if (!m) throw std::runtime_error("no 'listening on' line; stderr so far:\n" + err());
  return std::stoi((*m)[1].str());
}

std::string Process::out() const {
  std::lock_guard lock(mu_);
  return out_;
}

std::string Process::err() const {
  std::lock_guard lock(mu_);
  return err_;
}

void Process::write_stdin(const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(stdin_fd_, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error("write to stdin: " + std::string(std::strerror(errno)));
    done += static_cast<size_t>(n);
  }
}

void Process::close_stdin() {
  if (stdin_fd_ >= 0) ::close(stdin_fd_);
  stdin_fd_ = -1;
}

void Process::signal(int sig) { ::kill(pid_, sig); }

bool Process::running() {
  if (status_) return false;
  int st = 0;
  pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return false;
  }
  return r == 0;
}

std::optional<int> Process::wait_exit(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  if (!wait_until([&] { return !running(); }, timeout)) return std::nullopt;
  // The pipes reach end of file once the process (and any child that
  // inherited them) has closed them; then out() and err() are complete.
  std::unique_lock lock(mu_);
  cv_.wait_until(lock, deadline, [&] { return open_pipes_ == 0; });
  return status_;
}

RawStream::RawStream(int port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw std::runtime_error("connect to port " + std::to_string(port) + ": " + std::strerror(errno));
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

RawStream::~RawStream() { close(); }

void RawStream::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  closed_ = true;
}

void RawStream::send(const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error("send: " + std::string(std::strerror(errno)));
    done += static_cast<size_t>(n);
  }
}

void RawStream::send_get(const std::string& path, const std::vector<std::string>& headers) {
  std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (auto& h : headers) req += h + "\r\n";
  req += "\r\n";
  send(req);
}

bool RawStream::read_until(const std::function<bool(const std::string&)>& pred, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::array<char, 65536> buf;
  while (!pred(bytes_)) {
    if (closed_) return false;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return pred(bytes_);
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      closed_ = true;
      return pred(bytes_);
    }
    bytes_.append(buf.data(), static_cast<size_t>(n));
  }
  return true;
}

bool RawStream::read_until_contains(const std::string& needle, std::chrono::milliseconds timeout) {
  return read_until([&](const std::string& b) { return b.find(needle) != std::string::npos; }, timeout);
}

bool RawStream::read_until_closed(std::chrono::milliseconds timeout) {
  read_until([](const std::string&) { return false; }, timeout);
  return closed_;
}

std::string RawStream::head() const {
  auto end = bytes_.find("\r\n\r\n");
  return end == std::string::npos ? std::string() : bytes_.substr(0, end + 2);
}

std::string RawStream::body() const {
  auto end = bytes_.find("\r\n\r\n");
  return end == std::string::npos ? std::string() : bytes_.substr(end + 4);
}

int unused_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t size = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &size);
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string program_path(const std::string& name) {
#ifdef ES_BIN_DIR
  return std::string(ES_BIN_DIR) + "/" + name + "/" + name;
#else
  return name;
#endif
}

}  // namespace es::test
