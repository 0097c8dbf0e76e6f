// SPDX-License-Identifier: GPL-3.0-or-later
#include <es/serializer.hpp>

#include <charconv>
#include <cstring>
#include <utility>

namespace es {
namespace {

constexpr std::string_view kIdPrefix = "id: ";
constexpr std::string_view kRetryPrefix = "retry: ";
constexpr std::string_view kEventPrefix = "event: ";
constexpr std::string_view kDataPrefix = "data: ";
constexpr std::string_view kCommentPrefix = ": ";

std::size_t find_byte(std::string_view text, char byte, std::size_t from) noexcept {
  // memchr() must not be given a null pointer, even with a length of 0, and an
  // empty view may have one (std::string_view{}): nothing to search anyway.
  if (from >= text.size()) return text.size();
  const void* hit = std::memchr(text.data() + from, byte, text.size() - from);
  return hit == nullptr ? text.size() : static_cast<std::size_t>(static_cast<const char*>(hit) - text.data());
}

bool has_line_break(std::string_view text) noexcept {
  return find_byte(text, '\n', 0) != text.size() || find_byte(text, '\r', 0) != text.size();
}

// Calls on_line for each line of `text`, split on CRLF, LF and a lone CR (the
// WHATWG line ends): "a\r\nb" gives "a", "b"; "" gives one empty line; "a\n"
// gives "a", "". The next LF and CR positions are remembered, so text made of
// one kind of line end is still scanned once.
template <class OnLine>
void for_each_line(std::string_view text, OnLine&& on_line) {
  std::size_t pos = 0;
  std::size_t next_lf = find_byte(text, '\n', 0);
  std::size_t next_cr = find_byte(text, '\r', 0);
  for (;;) {
    if (next_lf < pos) next_lf = find_byte(text, '\n', pos);
    if (next_cr < pos) next_cr = find_byte(text, '\r', pos);
    const std::size_t end = next_lf < next_cr ? next_lf : next_cr;
    on_line(text.substr(pos, end - pos));
    if (end == text.size()) return;
    pos = end + 1;
    if (text[end] == '\r' && pos < text.size() && text[pos] == '\n') ++pos;
  }
}

void append_field(std::string& out, std::string_view prefix, std::string_view value) {
  out.append(prefix);
  out.append(value);
  out.push_back('\n');
}

}  // namespace

std::string invalid_event_reason(const Event& e) {
  if (has_line_break(e.name)) return "event name contains a line break (CR or LF)";
  if (has_line_break(e.id)) return "event id contains a line break (CR or LF)";
  // WHATWG: an id field whose value contains U+0000 is ignored by the client.
  if (e.id.find('\0') != std::string::npos) return "event id contains NUL, which clients ignore";
  // WHATWG: retry must be ASCII digits; a minus sign would make clients ignore it.
  if (e.retry && e.retry->count() < 0) return "retry is negative";
  return {};
}

Result<std::string> serialize(const Event& e) {
  if (std::string reason = invalid_event_reason(e); !reason.empty()) return Failure{std::move(reason)};

  char retry_digits[24];
  std::size_t retry_length = 0;
  if (e.retry) {
    const auto written = std::to_chars(retry_digits, retry_digits + sizeof retry_digits, e.retry->count());
    retry_length = static_cast<std::size_t>(written.ptr - retry_digits);
  }
  const std::string_view retry_text(retry_digits, retry_length);

  // A named event with empty data still gets one (empty) data line: WHATWG
  // dispatches a data buffer of "\n" as an event with empty data, while no data
  // line at all would dispatch nothing and lose the name. Without a name,
  // empty data means an id-only or retry-only message: no data line.
  const bool write_data = !e.data.empty() || !e.name.empty();

  std::size_t size = 1;  // the blank line that ends the event
  if (!e.id.empty()) size += kIdPrefix.size() + e.id.size() + 1;
  if (e.retry) size += kRetryPrefix.size() + retry_length + 1;
  if (!e.name.empty()) size += kEventPrefix.size() + e.name.size() + 1;
  if (write_data) for_each_line(e.data, [&](std::string_view line) { size += kDataPrefix.size() + line.size() + 1; });

  std::string out;
  out.reserve(size);
  if (!e.id.empty()) append_field(out, kIdPrefix, e.id);
  if (e.retry) append_field(out, kRetryPrefix, retry_text);
  if (!e.name.empty()) append_field(out, kEventPrefix, e.name);
  if (write_data) for_each_line(e.data, [&](std::string_view line) { append_field(out, kDataPrefix, line); });
  out.push_back('\n');
  return out;
}

Result<SharedBytes> serialize_shared(const Event& e) {
  Result<std::string> bytes = serialize(e);
  if (!bytes) return Failure{bytes.error()};
  return SharedBytes(std::make_shared<const std::string>(std::move(bytes).value()));
}

std::string serialize_comment(std::string_view text) {
  std::size_t size = 1;
  for_each_line(text, [&](std::string_view line) { size += kCommentPrefix.size() + line.size() + 1; });
  std::string out;
  out.reserve(size);
  for_each_line(text, [&](std::string_view line) { append_field(out, kCommentPrefix, line); });
  out.push_back('\n');
  return out;
}

}  // namespace es
