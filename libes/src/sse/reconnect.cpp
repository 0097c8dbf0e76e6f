// SPDX-License-Identifier: GPL-3.0-or-later
#include <es/reconnect.hpp>

#include <algorithm>
#include <cmath>

namespace es {

std::chrono::milliseconds reconnect_delay(const ReconnectPolicy& policy,
                                          std::optional<std::chrono::milliseconds> server_retry,
                                          unsigned failures) {
  using std::chrono::milliseconds;
  const milliseconds requested = std::max(server_retry.value_or(policy.initial), milliseconds{0});
  if (failures == 0) return requested;
  const milliseconds base = std::max(requested, policy.failure_floor);

  // A server's retry above policy.max is what the server asked for: honour it,
  // but do not grow it further.
  const milliseconds cap = std::max(policy.max, requested);
  // A factor below 1 (or NaN) would shorten the delay after failures: treat it as 1.
  const double factor = policy.backoff >= 1.0 ? policy.backoff : 1.0;
  // pow() overflows to infinity, never wraps, so any failure count is safe.
  const double grown = static_cast<double>(base.count()) * std::pow(factor, static_cast<double>(failures));
  if (!(grown < static_cast<double>(cap.count()))) return cap;
  return milliseconds{static_cast<milliseconds::rep>(grown)};
}

}  // namespace es
