// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// How other threads talk to the streaming loop: commands pushed under a
// mutex onto a vector the loop swaps out whole, and an eventfd that wakes
// it. Only the push that finds the inbox empty writes the eventfd, so a
// burst of publishes costs one wake-up.

#include <es/event.hpp>
#include <es/server.hpp>

#include <future>
#include <mutex>
#include <string>
#include <variant>
#include <vector>

namespace es {

struct Connection;

struct PublishCommand {
  std::string token;
  Event event;
  bool close_after = false;                 ///< the `close` action: end the token's streams
  std::promise<PublishResult>* reply = nullptr; ///< owned by the waiting publisher
};

struct ReturnConnection {
  Connection* connection = nullptr;
  bool keep_alive = false;
};

struct StopCommand {};

using LoopCommand = std::variant<PublishCommand, ReturnConnection, StopCommand>;

class LoopInbox {
 public:
  LoopInbox();
  ~LoopInbox();
  LoopInbox(const LoopInbox&) = delete;
  LoopInbox& operator=(const LoopInbox&) = delete;

  /// The eventfd the loop waits on.
  int fd() const noexcept { return fd_; }
  /// Any thread. False once closed: the command was not taken.
  bool push(LoopCommand command);
  /// Loop thread: everything pushed so far, oldest first (`into` is cleared first).
  void take(std::vector<LoopCommand>& into);
  /// No more pushes; returns what was still queued.
  std::vector<LoopCommand> close();

 private:
  int fd_ = -1;
  std::mutex mutex_;
  std::vector<LoopCommand> commands_;
  bool closed_ = false;
};

}  // namespace es
