// SPDX-License-Identifier: GPL-3.0-or-later
#include "server/store/redis/redis_link.hpp"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <sys/epoll.h>

#include <cstring>
#include <memory>
#include <vector>

namespace es {
namespace {

RedisLink* link_of(const redisAsyncContext* context) { return static_cast<RedisLink*>(context->data); }

/// hiredis wants parallel arrays of pointers and lengths.
struct Argv {
  explicit Argv(std::span<const std::string_view> args) {
    pointers.reserve(args.size());
    lengths.reserve(args.size());
    for (std::string_view a : args) {
      pointers.push_back(a.data());
      lengths.push_back(a.size());
    }
  }
  int count() const { return static_cast<int>(pointers.size()); }
  const char** data() { return pointers.data(); }
  std::vector<const char*> pointers;
  std::vector<std::size_t> lengths;
};

}  // namespace

std::string reply_error(const redisReply* reply) {
  if (!reply) return "connection lost";
  if (reply->type == REDIS_REPLY_ERROR) return std::string(reply->str, reply->len);
  return {};
}

RedisLink::RedisLink(Reactor& reactor, const RedisAddress& address, Events events)
    : reactor_(reactor), events_(std::move(events)) {
  redisAsyncContext* c = address.unix_path.empty() ? redisAsyncConnect(address.host.c_str(), address.port)
                                                   : redisAsyncConnectUnix(address.unix_path.c_str());
  if (!c) {
    drop_reason_ = "out of memory";
  } else if (c->err) {
    drop_reason_ = c->errstr;
    redisAsyncFree(c);
  } else {
    context_ = c;
    c->data = this;
    fd_ = c->c.fd;
    c->ev.data = this;
    c->ev.addRead = add_read;
    c->ev.delRead = del_read;
    c->ev.addWrite = add_write;
    c->ev.delWrite = del_write;
    c->ev.cleanup = cleanup;
    redisAsyncSetConnectCallback(c, on_connect);
    redisAsyncSetDisconnectCallback(c, on_disconnect);
    writing_ = true; // writable = the non-blocking connect finished
    if (int error = reactor_.watch(fd_, EPOLLOUT, *this)) {
      // Not connected yet: freeing the context calls no callback of ours
      // (data is null; cleanup finds no descriptor), and the failure is
      // reported on the loop below, as any other failure to connect.
      drop_reason_ = std::string("epoll_ctl: ") + std::strerror(error);
      fd_ = -1;
      context_ = nullptr;
      c->data = nullptr;
      redisAsyncFree(c);
    }
  }
  if (!context_) {
    // Report on the loop, never from inside the constructor.
    failed_timer_ = reactor_.call_after(std::chrono::milliseconds(0), [this] {
      if (!destroying_ && events_.lost) events_.lost(drop_reason_);
    });
  }
}

RedisLink::~RedisLink() {
  destroying_ = true;
  if (failed_timer_) reactor_.cancel(failed_timer_);
  if (context_) {
    redisAsyncContext* c = context_;
    redisAsyncFree(c); // pending handlers run with null; cleanup unwatches
    context_ = nullptr;
  }
  if (fd_ >= 0) reactor_.unwatch(fd_);
}

void RedisLink::command(std::span<const std::string_view> args, ReplyHandler handler) {
  auto owned = handler ? std::make_unique<ReplyHandler>(std::move(handler)) : nullptr;
  Argv argv(args);
  if (context_ && redisAsyncCommandArgv(context_, owned ? on_reply : nullptr, owned.get(), argv.count(),
                                        argv.data(), argv.lengths.data()) == REDIS_OK) {
    owned.release(); // on_reply deletes it
    return;
  }
  if (owned) (*owned)(nullptr);
}

void RedisLink::subscription(std::span<const std::string_view> args) {
  if (!context_) return;
  Argv argv(args);
  redisAsyncCommandArgv(context_, on_push, this, argv.count(), argv.data(), argv.lengths.data());
}

void RedisLink::drop(const std::string& reason) {
  if (!context_) return;
  drop_reason_ = reason;
  redisAsyncDisconnect(context_); // on_disconnect follows (now or once pending replies are in)
}

void RedisLink::on_io(std::uint32_t events) {
  if (context_ && (events & (EPOLLIN | EPOLLERR | EPOLLHUP))) redisAsyncHandleRead(context_);
  if (context_ && (events & EPOLLOUT)) redisAsyncHandleWrite(context_);
}

void RedisLink::update_watch() {
  if (fd_ < 0) return;
  const std::uint32_t wanted = (reading_ ? EPOLLIN : 0u) | (writing_ ? EPOLLOUT : 0u);
  if (int error = reactor_.watch(fd_, wanted, *this)) {
    if (context_) drop(std::string("epoll_ctl: ") + std::strerror(error));
  }
}

void RedisLink::forget_context(const std::string& reason) {
  // hiredis frees the context after this callback returns.
  context_ = nullptr;
  connected_ = false;
  if (fd_ >= 0) {
    reactor_.unwatch(fd_);
    fd_ = -1;
  }
  if (destroying_ || !events_.lost) return;
  events_.lost(reason);
}

void RedisLink::on_connect(const redisAsyncContext* c, int status) {
  RedisLink* self = link_of(c);
  if (!self) return;
  if (status != REDIS_OK) {
    self->forget_context(c->errstr[0] ? c->errstr : "could not connect");
    return;
  }
  self->connected_ = true;
  if (!self->destroying_ && self->events_.connected) self->events_.connected();
}

void RedisLink::on_disconnect(const redisAsyncContext* c, int status) {
  RedisLink* self = link_of(c);
  if (!self) return;
  std::string reason = !self->drop_reason_.empty() ? self->drop_reason_
                       : status != REDIS_OK && c->errstr[0] ? std::string(c->errstr)
                                                            : std::string("the server closed the connection");
  self->forget_context(reason);
}

void RedisLink::on_reply(redisAsyncContext*, void* reply, void* handler) {
  std::unique_ptr<ReplyHandler> owned(static_cast<ReplyHandler*>(handler));
  (*owned)(static_cast<const redisReply*>(reply));
}

void RedisLink::on_push(redisAsyncContext* c, void* reply, void*) {
  RedisLink* self = link_of(c);
  if (!self || self->destroying_ || !reply || !self->events_.pushed) return;
  self->events_.pushed(static_cast<const redisReply*>(reply));
}

void RedisLink::add_read(void* p) {
  auto* self = static_cast<RedisLink*>(p);
  if (self->reading_) return;
  self->reading_ = true;
  self->update_watch();
}

void RedisLink::del_read(void* p) {
  auto* self = static_cast<RedisLink*>(p);
  if (!self->reading_) return;
  self->reading_ = false;
  self->update_watch();
}

void RedisLink::add_write(void* p) {
  auto* self = static_cast<RedisLink*>(p);
  if (self->writing_) return;
  self->writing_ = true;
  self->update_watch();
}

void RedisLink::del_write(void* p) {
  auto* self = static_cast<RedisLink*>(p);
  if (!self->writing_) return;
  self->writing_ = false;
  self->update_watch();
}

void RedisLink::cleanup(void* p) {
  auto* self = static_cast<RedisLink*>(p);
  if (self->fd_ >= 0) {
    self->reactor_.unwatch(self->fd_);
    self->fd_ = -1;
  }
}

}  // namespace es
