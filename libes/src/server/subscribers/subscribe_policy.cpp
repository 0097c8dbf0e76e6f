// SPDX-License-Identifier: GPL-3.0-or-later
#include "server/subscribers/subscribe_policy.hpp"

#include <exception>
#include <string>

namespace es {

std::optional<Refusal> check_subscription(const SubscriberInfo& request, SubscriberCounts counts,
                                          const ServerOptions& options,
                                          const Server::CheckConnection& check_connection, const Log& log) {
  if (check_connection) {
    std::optional<Refusal> refusal;
    try {
      refusal = check_connection(request);
    } catch (const std::exception& e) {
      log.error(std::string("check_connection hook threw: ") + e.what());
      refusal = Refusal{500, "Internal server error"};
    }
    if (refusal) {
      // Only an error status makes sense for a refusal (a 2xx would look like a stream).
      if (refusal->status < 400 || refusal->status > 599) refusal->status = 403;
      return refusal;
    }
  }
  if (options.exclusive && counts.on_token > 0) return Refusal{423, "Token is already in use"};
  if (options.max_subscribers > 0 && counts.total >= options.max_subscribers) return Refusal{503, "Too many subscribers"};
  return std::nullopt;
}

}  // namespace es
