// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// The httplib::Stream a worker runs cpp-httplib's request processing on: it
// first yields the bytes the streaming loop already read (the request head
// and its whole body: the loop hands off complete requests only), and only
// past them reads the socket through the connection's ConnectionIo.
// Whatever it read past the request stays in its buffer and goes back to
// the loop with the connection (a pipelined request).
//
// Writes are gathered and sent when the stream has to wait for the client
// or at the end: a response leaves in one write, not a head and a body
// segment.

#include "server/loop/connection.hpp"

#include <httplib.h>

#include <chrono>
#include <cstddef>
#include <string>

namespace es {

class HandoffStream final : public httplib::Stream {
 public:
  /// Reads at most `read_budget` bytes from the socket (the loop's buffered
  /// bytes aside): a chunked body cannot grow without bound.
  HandoffStream(Connection& connection, std::chrono::milliseconds timeout, std::size_t read_budget);

  bool is_readable() const override;
  bool is_writable() const override;
  ssize_t read(char* ptr, size_t size) override;
  ssize_t write(const char* ptr, size_t size) override;
  void get_remote_ip_and_port(std::string& ip, int& port) const override;
  void get_local_ip_and_port(std::string& ip, int& port) const override;
  socket_t socket() const override;

  /// Sends what write() gathered; false if the connection failed.
  bool flush();
  /// True once a read was refused for passing the budget.
  bool over_budget() const noexcept { return over_budget_; }
  /// Bytes read but not consumed by the request (handed back to the loop).
  std::string take_unread();

 private:
  bool wait_for(short events) const;
  ssize_t fill();

  Connection& connection_;
  int timeout_ms_;
  std::size_t budget_;
  std::size_t socket_bytes_ = 0;
  bool over_budget_ = false;
  bool failed_ = false;
  std::string input_;
  std::size_t input_pos_ = 0;
  std::string output_;
};

}  // namespace es
