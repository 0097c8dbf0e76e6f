// SPDX-License-Identifier: GPL-3.0-or-later
#include "server/pubsub/publication.hpp"

namespace es {

std::string Framer::invalid_reason(const Event& event) const {
  for (const SubscriberKind* kind : kinds_)
    if (auto reason = kind->invalid_reason(event); !reason.empty()) return reason;
  return {};
}

Result<PublicationPtr> Framer::frame(const Event& event, StorePosition position, StoreClock::time_point at) const {
  auto publication = std::make_shared<Publication>();
  publication->id = event.id;
  publication->position = position;
  publication->at = at;
  for (std::size_t i = 0; i < kinds_.size(); ++i) {
    auto bytes = kinds_[i]->frame(event);
    if (!bytes) return Failure{bytes.error()};
    publication->frames[i] = std::move(bytes).value();
  }
  return PublicationPtr(std::move(publication));
}

}  // namespace es
