// SPDX-License-Identifier: GPL-3.0-or-later
#include "response_head.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace es::bench {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool icontains(std::string_view haystack, std::string_view needle) {
  if (needle.size() > haystack.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= haystack.size(); ++i)
    if (iequals(haystack.substr(i, needle.size()), needle)) return true;
  return false;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) text.remove_suffix(1);
  return text;
}

}  // namespace

ResponseHead parse_response_head(std::string_view bytes) {
  ResponseHead head;
  // RFC 9112 §2.2: a recipient may accept a bare LF as a line end.
  std::size_t end = std::string_view::npos;
  for (std::size_t i = bytes.find('\n'); i != std::string_view::npos; i = bytes.find('\n', i + 1)) {
    if (i + 1 < bytes.size() && bytes[i + 1] == '\n') { end = i + 2; break; }
    if (i + 2 < bytes.size() && bytes[i + 1] == '\r' && bytes[i + 2] == '\n') { end = i + 3; break; }
  }
  if (end == std::string_view::npos) return head;
  head.size = end;
  std::string_view text = bytes.substr(0, end);

  const std::size_t line_end = text.find('\n');
  const std::string_view status_line = trim(text.substr(0, line_end));
  if (status_line.size() < 12 || status_line.substr(0, 7) != "HTTP/1.") {
    head.state = ResponseHead::State::malformed;
    return head;
  }
  const bool http10 = status_line[7] == '0';
  const std::string_view code = status_line.substr(9, 3);
  const auto [ptr, ec] = std::from_chars(code.data(), code.data() + code.size(), head.status);
  if (ec != std::errc() || ptr != code.data() + code.size()) {
    head.state = ResponseHead::State::malformed;
    return head;
  }
  head.close = http10;

  text.remove_prefix(line_end + 1);
  while (!text.empty()) {
    const std::size_t next = text.find('\n');
    const std::string_view line = text.substr(0, next);
    text.remove_prefix(next == std::string_view::npos ? text.size() : next + 1);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "Transfer-Encoding")) {
      head.chunked = icontains(value, "chunked");
    } else if (iequals(name, "Content-Length")) {
      std::uint64_t length = 0;
      const auto [p, e] = std::from_chars(value.data(), value.data() + value.size(), length);
      if (e != std::errc() || p != value.data() + value.size()) {
        head.state = ResponseHead::State::malformed;
        return head;
      }
      head.content_length = length;
    } else if (iequals(name, "Connection")) {
      if (icontains(value, "close")) head.close = true;
      if (icontains(value, "keep-alive")) head.close = false;
    }
  }
  head.state = ResponseHead::State::complete;
  return head;
}

}  // namespace es::bench
