// SPDX-License-Identifier: GPL-3.0-or-later
#include "http/request_head.hpp"

namespace es::http {
namespace {

// RFC 9110, 5.6.2: tchar.
bool is_token_char(char c) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

bool is_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_token_char(c)) return false;
  return true;
}

// A request-target never holds blanks or controls; bytes over 0x7F are let
// through (some clients send raw UTF-8) and are the path decoder's business.
bool is_target(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7F) return false;
  }
  return true;
}

bool is_blank(char c) noexcept { return c == ' ' || c == '\t'; }

std::string_view trim_blanks(std::string_view s) noexcept {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

// A field value may hold any byte but NUL, CR and LF (RFC 9110, 5.5).
bool is_field_value(std::string_view s) noexcept {
  for (char c : s)
    if (c == '\0' || c == '\r' || c == '\n') return false;
  return true;
}

char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool parse_request_line(std::string_view line, RequestHead& head) {
  auto sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return false;
  auto sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return false;
  auto method = line.substr(0, sp1);
  auto target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  auto version = line.substr(sp2 + 1);
  if (!is_token(method) || !is_target(target)) return false;
  if (version.size() != 8 || version.substr(0, 7) != "HTTP/1." || version[7] < '0' || version[7] > '9') return false;
  head.method = method;
  head.target = target;
  head.minor_version = version[7] - '0';
  return true;
}

bool parse_field_line(std::string_view line, RequestHead& head) {
  // RFC 9112, 5.2: obsolete line folding; 5.1: no blank between name and colon.
  if (is_blank(line.front())) return false;
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return false;
  auto name = line.substr(0, colon);
  auto value = trim_blanks(line.substr(colon + 1));
  if (!is_token(name) || !is_field_value(value)) return false;
  head.fields.push_back({name, value});
  return true;
}

// The line starting at `pos`, without its CRLF or LF; nullopt if no LF yet.
// `next` is set past the line end.
std::optional<std::string_view> next_line(std::string_view bytes, std::size_t pos, std::size_t& next) {
  auto lf = bytes.find('\n', pos);
  if (lf == std::string_view::npos) return std::nullopt;
  next = lf + 1;
  auto line = bytes.substr(pos, lf - pos);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

// While the request line is incomplete, its method is already visible: a
// byte that cannot start an HTTP request (a TLS handshake, say) is refused
// at once instead of waiting for a line end that never comes.
bool could_be_request_start(std::string_view partial) noexcept {
  for (char c : partial) {
    if (c == ' ') return true;
    if (!is_token_char(c)) return false;
  }
  return true;
}

}  // namespace

bool equals_ignoring_case(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

std::optional<std::string_view> RequestHead::field(std::string_view name) const {
  for (const auto& f : fields)
    if (equals_ignoring_case(f.name, name)) return f.value;
  return std::nullopt;
}

std::size_t RequestHead::count(std::string_view name) const {
  std::size_t n = 0;
  for (const auto& f : fields)
    if (equals_ignoring_case(f.name, name)) ++n;
  return n;
}

ParsedHead parse_request_head(std::string_view bytes, RequestHead& head) {
  head = RequestHead{};
  std::size_t pos = 0;
  // RFC 9112, 2.2: a server SHOULD ignore empty lines received before the request line.
  while (pos < bytes.size() && (bytes[pos] == '\r' || bytes[pos] == '\n')) ++pos;

  std::size_t next = 0;
  auto request_line = next_line(bytes, pos, next);
  if (!request_line) {
    if (!could_be_request_start(bytes.substr(pos))) return {HeadStatus::malformed, 0};
    return {HeadStatus::partial, 0};
  }
  if (!parse_request_line(*request_line, head)) return {HeadStatus::malformed, 0};

  for (pos = next;;) {
    auto line = next_line(bytes, pos, next);
    if (!line) return {HeadStatus::partial, 0};
    if (line->empty()) return {HeadStatus::complete, next};
    if (!parse_field_line(*line, head)) return {HeadStatus::malformed, 0};
    pos = next;
  }
}

}  // namespace es::http
