// SPDX-License-Identifier: GPL-3.0-or-later
#include <es/url.hpp>

#include "common/format.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace es {
namespace {

constexpr char kHex[] = "0123456789ABCDEF";

void append_percent_encoded(std::string& out, unsigned char byte) {
  out += '%';
  out += kHex[byte >> 4];
  out += kHex[byte & 0x0F];
}

bool is_unreserved(unsigned char c) {
  return std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~';
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Userinfo is percent-decoded (RFC 3986, 3.2.1); a bad escape is kept as written.
std::string decode_userinfo(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string_view trim_slashes(std::string_view s) {
  while (!s.empty() && s.front() == '/') s.remove_prefix(1);
  while (!s.empty() && s.back() == '/') s.remove_suffix(1);
  return s;
}

}  // namespace

std::string Url::authority() const {
  return format_address(host, port);
}

std::string Url::origin() const { return scheme + "://" + authority(); }

std::string Url::str() const { return origin() + target; }

Result<Url> parse_url(std::string_view text) {
  Url url;
  const std::size_t colon_slashes = text.find("://");
  if (colon_slashes == std::string_view::npos)
    return Failure{"URL '" + std::string(text) + "' has no scheme (it should start with http:// or https://)"};
  url.scheme = lower(text.substr(0, colon_slashes));
  if (url.scheme != "http" && url.scheme != "https")
    return Failure{"unsupported scheme '" + url.scheme + "' in URL (use http or https)"};
  std::string_view rest = text.substr(colon_slashes + 3);

  const std::size_t authority_end = std::min(rest.find_first_of("/?#"), rest.size());
  std::string_view authority = rest.substr(0, authority_end);
  std::string_view target = rest.substr(authority_end);

  if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
    const std::string_view userinfo = authority.substr(0, at);
    const std::size_t colon = userinfo.find(':');
    url.username = decode_userinfo(userinfo.substr(0, colon));
    if (colon != std::string_view::npos) url.password = decode_userinfo(userinfo.substr(colon + 1));
    authority.remove_prefix(at + 1);
  }

  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return Failure{"URL has an unterminated IPv6 address"};
    url.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Failure{"URL has junk after the IPv6 address"};
      port_text = after.substr(1);
    }
  } else {
    const std::size_t colon = authority.rfind(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (url.host.empty()) return Failure{"URL '" + std::string(text) + "' has no host"};

  url.port = url.is_tls() ? 443 : 80;
  if (!port_text.empty()) {
    int port = 0;
    const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port < 1 || port > 65535)
      return Failure{"URL has a bad port '" + std::string(port_text) + "' (1 to 65535)"};
    url.port = port;
  }

  if (const std::size_t hash = target.find('#'); hash != std::string_view::npos) target = target.substr(0, hash);
  if (target.empty() || target.front() != '/') url.target = "/";
  for (const char c : target) {
    const auto byte = static_cast<unsigned char>(c);
    // What may not appear in a request-target as is (RFC 9112, 3.2).
    if (byte <= 0x20 || byte >= 0x7F)
      append_percent_encoded(url.target, byte);
    else
      url.target += c;
  }
  return url;
}

Result<Url> resolve_url(const Url& base, std::string_view reference) {
  Result<Url> resolved = [&]() -> Result<Url> {
    if (reference.find("://") != std::string_view::npos) return parse_url(reference);
    if (reference.starts_with("//")) return parse_url(base.scheme + ":" + std::string(reference));
    if (reference.starts_with("/")) return parse_url(base.origin() + std::string(reference));
    const std::string path = base.target.substr(0, base.target.find('?'));
    if (reference.empty() || reference.starts_with("#")) return parse_url(base.str());
    if (reference.starts_with("?")) return parse_url(base.origin() + path + std::string(reference));
    // A relative path replaces the last segment of the base's path.
    return parse_url(base.origin() + path.substr(0, path.rfind('/') + 1) + std::string(reference));
  }();
  if (!resolved) return resolved;
  Url& url = resolved.value();
  if (url.scheme == base.scheme && url.host == base.host && url.port == base.port && url.username.empty()) {
    url.username = base.username;
    url.password = base.password;
  }
  return resolved;
}

std::string encode_path_segment(std::string_view segment) {
  std::string out;
  out.reserve(segment.size());
  for (const char c : segment) {
    const auto byte = static_cast<unsigned char>(c);
    if (is_unreserved(byte))
      out += c;
    else
      append_percent_encoded(out, byte);
  }
  return out;
}

std::string action_path(std::string_view prefix, std::string_view action, std::string_view token) {
  std::string path = "/";
  const std::string_view trimmed = trim_slashes(prefix);
  if (!trimmed.empty()) {
    path += trimmed;
    path += '/';
  }
  path += action;
  path += '/';
  path += encode_path_segment(token);
  return path;
}

}  // namespace es
