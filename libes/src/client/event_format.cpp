// SPDX-License-Identifier: GPL-3.0-or-later
#include <es/event_format.hpp>

#include <nlohmann/json.hpp>

#include <string_view>

namespace es {
namespace {

void append_visible(std::string& out, std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if ((byte < 0x20 && c != '\t') || byte == 0x7F) {
      out += "\\x";
      out += hex[byte >> 4];
      out += hex[byte & 0x0F];
    } else {
      out += c;
    }
  }
}

}  // namespace

std::string format_for_people(const Event& e) {
  std::string out;
  out.reserve(e.data.size() + e.name.size() + e.id.size() + 32);
  append_visible(out, e.type());
  if (!e.id.empty()) {
    out += " id=";
    append_visible(out, e.id);
  }
  if (e.retry) out += " retry=" + std::to_string(e.retry->count()) + "ms";
  out += '\n';
  // The parser joins data lines with LF only (WHATWG), so LF is the one line
  // break to split on; "" is one empty line, "\n" two.
  std::string_view data = e.data;
  for (;;) {
    const std::size_t lf = data.find('\n');
    const std::string_view line = data.substr(0, lf);
    out += line.empty() ? "|" : "| ";
    append_visible(out, line);
    out += '\n';
    if (lf == std::string_view::npos) break;
    data.remove_prefix(lf + 1);
  }
  out += '\n';
  return out;
}

std::string format_json_line(const Event& e) {
  nlohmann::ordered_json j;
  j["event"] = std::string(e.type());
  j["data"] = e.data;
  j["id"] = e.id.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(e.id);
  j["retry"] = e.retry ? nlohmann::ordered_json(e.retry->count()) : nlohmann::ordered_json(nullptr);
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

std::string format_data_line(const Event& e) { return e.data + "\n"; }

}  // namespace es
