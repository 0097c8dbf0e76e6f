// SPDX-License-Identifier: GPL-3.0-or-later
#include <es/collect.hpp>

#include <mutex>
#include <utility>

namespace es {

Collected collect(const std::string& url, std::size_t count, std::chrono::milliseconds timeout) {
  ClientOptions options;
  options.url = url;
  return collect(std::move(options), count, timeout);
}

Collected collect(ClientOptions options, std::size_t count, std::chrono::milliseconds timeout) {
  Collected out;
  std::mutex mu;  // out is read by this thread once the client's thread has ended; the lock documents the hand-over
  Client* self = nullptr;
  Client client(std::move(options),
                Client::Handlers{
                    .on_event =
                        [&](const Event& e) {
                          std::lock_guard lock(mu);
                          if (count != 0 && out.events.size() >= count) return;
                          out.events.push_back(e);
                          if (count != 0 && out.events.size() == count) self->stop();
                        },
                    .on_error =
                        [&](const ClientError& e) {
                          std::lock_guard lock(mu);
                          out.error = e;
                        },
                });
  self = &client;
  client.start();
  const bool ended = client.wait_for(timeout);
  client.stop();
  std::optional<ClientError> fatal = client.wait();
  std::lock_guard lock(mu);
  out.timed_out = !ended;
  if (fatal) out.error = std::move(fatal);
  // Enough events came: earlier failures (a reconnect on the way) are not news.
  if (count != 0 && out.events.size() == count) out.error.reset();
  return out;
}

}  // namespace es
