// SPDX-License-Identifier: GPL-3.0-or-later
#include "http/response.hpp"

#include "http/date.hpp"
#include "http/plain_response.hpp"

namespace es::http {
namespace {

bool has_token(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    const auto comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (equals_ignoring_case(item, token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

bool wants_keep_alive(const RequestHead& head) {
  const auto connection = head.field("Connection");
  if (head.minor_version >= 1) return !connection || !has_token(*connection, "close");
  return connection && has_token(*connection, "keep-alive");
}

std::string response(const ResponseSpec& spec) {
  std::string out;
  out.reserve(160 + spec.extra_headers.size() + spec.body.size());
  out += "HTTP/1.1 ";
  out += std::to_string(spec.status);
  out += ' ';
  out += es::reason_phrase(spec.status);
  out += "\r\n";
  if (!spec.content_type.empty()) {
    out += "Content-Type: ";
    out += spec.content_type;
    out += "\r\n";
  }
  if (spec.status != 204) {
    out += "Content-Length: ";
    out += std::to_string(spec.body.size());
    out += "\r\n";
  }
  if (!spec.keep_alive)
    out += "Connection: close\r\n";
  else if (spec.minor_version == 0)
    out += "Connection: keep-alive\r\n";
  out += date_header_line();
  out += spec.extra_headers;
  out += "\r\n";
  out += spec.body;
  return out;
}

}  // namespace es::http
