// SPDX-License-Identifier: GPL-3.0-or-later
#include "raw_http.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <utility>

namespace es::test {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool icontains(std::string_view haystack, std::string_view needle) {
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         }) != haystack.end();
}

std::optional<std::string> header(const std::string& head, std::string_view name) {
  auto values = header_values(head, name);
  if (values.empty()) return std::nullopt;
  return std::move(values.front());
}

std::vector<std::string> header_values(const std::string& head, std::string_view name) {
  std::vector<std::string> values;
  size_t line = head.find("\r\n");
  while (line != std::string::npos) {
    line += 2;
    size_t end = head.find("\r\n", line);
    if (end == std::string::npos || end == line) break;
    std::string_view field(head.data() + line, end - line);
    size_t colon = field.find(':');
    if (colon != std::string_view::npos && iequals(field.substr(0, colon), name)) {
      std::string_view value = field.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
      values.emplace_back(value);
    }
    line = end;
  }
  return values;
}

std::optional<RawResponse> parse_response(const std::string& bytes, size_t from) {
  size_t head_end = bytes.find("\r\n\r\n", from);
  if (head_end == std::string::npos) return std::nullopt;
  RawResponse r;
  r.head = bytes.substr(from, head_end + 2 - from);
  if (r.head.size() < 12 || r.head.compare(0, 9, "HTTP/1.1 ") != 0) return std::nullopt;
  r.status = std::stoi(r.head.substr(9, 3));
  size_t length = 0;
  if (auto cl = header(r.head, "Content-Length")) length = std::stoul(*cl);
  size_t body_start = head_end + 4;
  if (bytes.size() < body_start + length) return std::nullopt;
  r.body = bytes.substr(body_start, length);
  r.end = body_start + length;
  return r;
}

std::vector<RawResponse> parse_responses(const std::string& bytes) {
  std::vector<RawResponse> all;
  std::size_t at = 0;
  while (auto r = parse_response(bytes, at)) {
    all.push_back(*r);
    at = r->end;
  }
  return all;
}

std::vector<std::string> event_blocks(std::string_view body) {
  std::vector<std::string> blocks;
  size_t start = 0;
  for (;;) {
    size_t end = body.find("\n\n", start);
    if (end == std::string_view::npos) break;
    std::string_view block = body.substr(start, end + 1 - start);
    start = end + 2;
    bool has_field = false;
    size_t pos = 0;
    while (pos < block.size()) {
      size_t eol = block.find('\n', pos);
      if (eol > pos && block[pos] != ':') has_field = true;
      pos = eol + 1;
    }
    if (has_field) blocks.emplace_back(block);
  }
  return blocks;
}

std::vector<WireEvent> parse_events(std::string_view body) {
  std::vector<WireEvent> events;
  for (const auto& block : event_blocks(body)) {
    WireEvent e;
    bool first_data = true;
    size_t pos = 0;
    while (pos < block.size()) {
      size_t eol = block.find('\n', pos);
      std::string_view line(block.data() + pos, eol - pos);
      pos = eol + 1;
      size_t colon = line.find(':');
      std::string_view field = line.substr(0, colon);
      std::string_view value = colon == std::string_view::npos ? std::string_view() : line.substr(colon + 1);
      if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      if (field == "id") e.id = value;
      if (field == "event") e.name = value;
      if (field == "retry") e.retry = value;
      if (field == "data") {
        if (!first_data) e.data += '\n';
        e.data += value;
        first_data = false;
      }
    }
    events.push_back(std::move(e));
  }
  return events;
}

size_t EventCounter::update(const std::string& bytes) {
  if (block_ == std::string::npos) {
    size_t head_end = bytes.find("\r\n\r\n");
    if (head_end == std::string::npos) return 0;
    block_ = scan_ = head_end + 4;
  }
  for (;;) {
    size_t end = bytes.find("\n\n", scan_);
    if (end == std::string::npos) {
      scan_ = std::max(block_, bytes.size() > 0 ? bytes.size() - 1 : 0);
      return count_;
    }
    if (bytes[block_] != ':') ++count_; // comment blocks (keepalives) are not events
    block_ = scan_ = end + 2;
  }
}

std::string wire(std::string_view name, std::string_view data, std::string_view id) {
  std::string out;
  if (!id.empty()) out += "id: " + std::string(id) + "\n";
  out += "event: " + std::string(name) + "\n";
  out += "data: " + std::string(data) + "\n\n";
  return out;
}

bool read_events(RawStream& s, size_t n, std::chrono::milliseconds timeout) {
  return s.read_until([n](const std::string& b) { return EventCounter().update(b) >= n; }, timeout);
}

RawResponse raw_get_response(int port, const std::string& path, const std::vector<std::string>& headers) {
  RawStream s(port);
  s.send_get(path, headers);
  s.read_until([](const std::string& b) { return parse_response(b).has_value(); }, 10s);
  auto r = parse_response(s.bytes());
  REQUIRE_MESSAGE(r, "no complete response to GET " << path << "; got: " << s.bytes());
  return *r;
}

RawResponse raw_response(int port, const std::string& request) {
  RawStream s(port);
  s.send(request);
  s.read_until([](const std::string& b) { return parse_response(b).has_value(); }, 10s);
  auto r = parse_response(s.bytes());
  REQUIRE_MESSAGE(r, "no complete response to " << request.substr(0, request.find("\r\n")) << "; got: " << s.bytes());
  return *r;
}

} // namespace es::test
