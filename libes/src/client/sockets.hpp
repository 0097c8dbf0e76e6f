// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// How a client thread blocked in cpp-httplib is woken from another thread.
//
// cpp-httplib's own ClientImpl::stop() misses a request that has not taken
// its socket lock yet, and does not reach the inner client of a cross-host
// redirect. Instead every socket httplib creates (its socket-options hook runs
// before connect()) is registered here as a duplicate descriptor; stopping
// shuts each one down, which makes a pending connect, read or write fail at
// once. A socket created after the stop is shut down before it connects
// (Linux keeps the shutdown: the request cannot be sent, reads see EOF).
// Duplicates, not the descriptors themselves, so a number httplib closed and
// the process reused is never touched.

#include <cstddef>
#include <mutex>
#include <vector>

#include <signal.h>

namespace es::client_detail {

class SocketRegistry {
 public:
  SocketRegistry() = default;
  ~SocketRegistry();
  SocketRegistry(const SocketRegistry&) = delete;
  SocketRegistry& operator=(const SocketRegistry&) = delete;

  /// For httplib's set_socket_options: remembers `fd` (shut down at once
  /// when stopping already).
  void adopt(int fd);
  /// Shuts down every socket adopted, and every one adopted later. Sticky.
  /// Safe from any thread.
  void shut_down() noexcept;
  bool stopping() const;
  /// Forgets (closes the duplicates of) the sockets of the attempt that ended.
  void release_all();
  /// Sockets adopted since the last release_all(): 0 after a failed
  /// connection means no address was tried (the name did not resolve).
  std::size_t adopted() const;

 private:
  mutable std::mutex mu_;
  std::vector<int> duplicates_;
  std::size_t adopted_ = 0;
  bool stopping_ = false;
};

/// Blocks SIGPIPE on this thread for its lifetime: the Debian build of
/// cpp-httplib writes with flags 0, so a write to a socket the peer closed
/// (or that stop() shut down) would raise it and kill the process. A SIGPIPE
/// raised meanwhile is consumed before the old mask comes back.
class SigpipeBlock {
 public:
  SigpipeBlock();
  ~SigpipeBlock();
  SigpipeBlock(const SigpipeBlock&) = delete;
  SigpipeBlock& operator=(const SigpipeBlock&) = delete;

 private:
  sigset_t old_{};
  bool was_blocked_ = false;
};

}  // namespace es::client_detail
