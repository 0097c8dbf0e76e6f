// SPDX-License-Identifier: GPL-3.0-or-later
#include "url_template.hpp"

#include <charconv>

namespace es::bench {

namespace {
constexpr std::string_view placeholder = "{token}";
}

std::string UrlTemplate::target(std::string_view token) const {
  if (!has_token) return path_prefix;
  std::string out;
  out.reserve(path_prefix.size() + token.size() + path_suffix.size());
  out.append(path_prefix).append(token).append(path_suffix);
  return out;
}

std::string UrlTemplate::host_header() const {
  const bool v6 = host.find(':') != std::string::npos;
  std::string out = v6 ? "[" + host + "]" : host;
  if (port != 80) out += ":" + std::to_string(port);
  return out;
}

Result<UrlTemplate> UrlTemplate::parse(std::string_view text) {
  UrlTemplate url;
  url.text = std::string(text);
  std::string_view scheme = "http://";
  if (text.substr(0, 8) == "https://") {
    scheme = "https://";
    url.tls = true;
    url.port = 443;
  }
  if (text.substr(0, scheme.size()) != scheme)
    return Failure{"'" + url.text + "': the URL must start with http:// or https://"};
  std::string_view rest = text.substr(scheme.size());
  const std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  const std::string_view path = slash == std::string_view::npos ? std::string_view("/") : rest.substr(slash);

  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return Failure{"'" + url.text + "': unclosed '[' in the host"};
    url.host = std::string(authority.substr(1, close - 1));
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Failure{"'" + url.text + "': unexpected text after the host"};
      port_text = after.substr(1);
    }
  } else {
    const std::size_t colon = authority.find(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (url.host.empty()) return Failure{"'" + url.text + "': the URL has no host"};
  if (!port_text.empty()) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || value == 0 || value > 65535)
      return Failure{"'" + url.text + "': bad port '" + std::string(port_text) + "'"};
    url.port = static_cast<std::uint16_t>(value);
  }

  const std::size_t at = path.find(placeholder);
  if (at == std::string_view::npos) {
    url.path_prefix = std::string(path);
  } else {
    if (path.find(placeholder, at + 1) != std::string_view::npos)
      return Failure{"'" + url.text + "': {token} may appear only once"};
    url.has_token = true;
    url.path_prefix = std::string(path.substr(0, at));
    url.path_suffix = std::string(path.substr(at + placeholder.size()));
  }
  return url;
}

}  // namespace es::bench
