// SPDX-License-Identifier: GPL-3.0-or-later
#include "server/store/redis/stream_entry.hpp"

#include <charconv>

namespace es {
namespace {

bool parse_u64(std::string_view text, std::uint64_t& out) {
  if (text.empty()) return false;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc{} && end == text.data() + text.size();
}

Result<std::string> checked_data(std::string_view data, const EntryRules& rules) {
  if (data.size() > rules.max_data)
    return Failure{"data of " + std::to_string(data.size()) + " bytes is over --max-body (" +
                   std::to_string(rules.max_data) + ")"};
  if (rules.kind.transform) return rules.kind.transform(data);
  return std::string(data);
}

}  // namespace

Result<StorePosition> parse_entry_id(std::string_view id) {
  const auto dash = id.find('-');
  StorePosition p;
  if (dash == std::string_view::npos || !parse_u64(id.substr(0, dash), p.major) ||
      !parse_u64(id.substr(dash + 1), p.minor))
    return Failure{"not a stream entry id"};
  return p;
}

std::string format_entry_id(StorePosition position) {
  return std::to_string(position.major) + "-" + std::to_string(position.minor);
}

Result<StreamEvent> event_from_entry(std::span<const EntryField> fields, const EntryRules& rules) {
  const std::string_view* data = nullptr;
  StreamEvent out;
  for (const auto& [name, value] : fields) {
    if (name == "data") {
      data = &value;
    } else if (name == "event") {
      out.event.name = std::string(value);
    } else if (name == "retry") {
      std::uint64_t ms = 0;
      if (!parse_u64(value, ms) || ms > static_cast<std::uint64_t>(max_retry.count()))
        return Failure{"retry is not a whole number of milliseconds up to one day"};
      out.event.retry = std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(ms));
    }
  }
  if (!data) return Failure{"the entry has no data field"};
  // A retry-only or close event may carry empty data, as their POSTs do.
  if (data->empty() && (out.event.retry || out.event.name == close_action)) {
    out.close_after = out.event.name == close_action;
    return out;
  }
  auto checked = checked_data(*data, rules);
  if (!checked) return Failure{checked.error()};
  out.event.data = std::move(checked).value();
  out.close_after = out.event.name == close_action;
  return out;
}

Result<Event> event_from_message(std::string_view payload, const EntryRules& rules) {
  auto checked = checked_data(payload, rules);
  if (!checked) return Failure{checked.error()};
  Event e;
  e.data = std::move(checked).value();
  return e;
}

std::vector<EntryField> entry_fields(const Event& event, std::string& retry_text) {
  std::vector<EntryField> fields;
  if (!event.name.empty()) fields.emplace_back("event", event.name);
  if (event.retry) {
    retry_text = std::to_string(event.retry->count());
    fields.emplace_back("retry", retry_text);
  }
  fields.emplace_back("data", event.data);
  return fields;
}

}  // namespace es
