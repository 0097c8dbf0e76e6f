// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// Who may subscribe, whatever the kind (nchan's subscribers/common.c): the
// embedder's check_connection hook first, then --exclusive (423) and
// --max-subscribers (503). A refusal is answered with its status and
// message; a hook that throws is a 500 and a log line, never a crash.

#include "common/log.hpp"

#include <es/server.hpp>

#include <cstddef>
#include <optional>

namespace es {

struct SubscriberCounts {
  std::size_t on_token = 0; ///< subscribers of the requested token now
  std::size_t total = 0;    ///< subscribers of every token now
};

std::optional<Refusal> check_subscription(const SubscriberInfo& request, SubscriberCounts counts,
                                          const ServerOptions& options,
                                          const Server::CheckConnection& check_connection, const Log& log);

}  // namespace es
