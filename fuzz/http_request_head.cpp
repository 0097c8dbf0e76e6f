// SPDX-License-Identifier: GPL-3.0-or-later
// Fuzz target: es::http::parse_request_head (libes/src/http/request_head.cpp).
//
// Input: the bytes received so far on a connection.
//
// Checks:
// - complete: the head's size is within the bytes and ends in LF; the method
//   is a token, the target has no blank or control, the version is 1.0-1.9;
//   every field name is a token and every value has no CR, LF or NUL and no
//   blank at either end; every view points into the head; field() and
//   count() agree with the list;
// - complete: the head alone parses the same, and every shorter prefix is
//   partial (the loop reads more, never answers early);
// - partial: every prefix is partial too;
// - malformed: the bytes followed by anything are still malformed (refusing
//   early never refuses a request that would have been good).

#include "fuzz_support.hpp"

#include "http/request_head.hpp"

#include <string>

namespace {

using es::http::HeadStatus;

bool is_token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_token_char(c)) return false;
  return true;
}

bool inside(std::string_view part, std::string_view whole) {
  return part.empty() || (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

es::http::ParsedHead parse_copy(std::string_view bytes, es::http::RequestHead& head) {
  // A copy of exactly this size: ASan catches a read past its end.
  const es::fuzz::Piece piece(bytes);
  es::http::ParsedHead parsed = es::http::parse_request_head(piece.view(), head);
  head = {};  // its views pointed into the copy
  return parsed;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const es::fuzz::Piece piece(std::string_view(reinterpret_cast<const char*>(data), size));
  const std::string_view bytes = piece.view();
  es::http::RequestHead head;
  const es::http::ParsedHead parsed = es::http::parse_request_head(bytes, head);

  if (parsed.status == HeadStatus::complete) {
    FUZZ_CHECK(parsed.size > 0 && parsed.size <= bytes.size());
    FUZZ_CHECK(bytes[parsed.size - 1] == '\n');
    const std::string_view used = bytes.substr(0, parsed.size);
    FUZZ_CHECK(is_token(head.method) && inside(head.method, used));
    FUZZ_CHECK(!head.target.empty() && inside(head.target, used));
    for (char c : head.target) FUZZ_CHECK(static_cast<unsigned char>(c) > 0x20 && c != 0x7f);
    FUZZ_CHECK(head.minor_version >= 0 && head.minor_version <= 9);
    for (const auto& f : head.fields) {
      FUZZ_CHECK(is_token(f.name) && inside(f.name, used) && inside(f.value, used));
      for (char c : f.value) FUZZ_CHECK(c != '\0' && c != '\r' && c != '\n');
      if (!f.value.empty()) {
        FUZZ_CHECK(f.value.front() != ' ' && f.value.front() != '\t');
        FUZZ_CHECK(f.value.back() != ' ' && f.value.back() != '\t');
      }
      const auto first = head.field(f.name);
      FUZZ_CHECK(first.has_value());
      std::size_t same = 0;
      const es::http::HeaderField* first_same = nullptr;
      for (const auto& g : head.fields) {
        if (es::http::equals_ignoring_case(g.name, f.name)) {
          if (!first_same) first_same = &g;
          ++same;
        }
      }
      FUZZ_CHECK(first->data() == first_same->value.data() && first->size() == first_same->value.size());
      FUZZ_CHECK(head.count(f.name) == same);
    }
    // Copies of what was parsed, to compare with the parse of the head alone.
    const std::string method(head.method), target(head.target);
    std::vector<std::pair<std::string, std::string>> fields;
    for (const auto& f : head.fields) fields.emplace_back(f.name, f.value);
    const int minor = head.minor_version;

    const es::fuzz::Piece alone_piece(used);
    es::http::RequestHead alone;
    const es::http::ParsedHead again = es::http::parse_request_head(alone_piece.view(), alone);
    FUZZ_CHECK(again.status == HeadStatus::complete && again.size == parsed.size);
    FUZZ_CHECK(alone.method == method && alone.target == target && alone.minor_version == minor);
    FUZZ_CHECK(alone.fields.size() == fields.size());
    for (std::size_t i = 0; i < fields.size(); ++i)
      FUZZ_CHECK(alone.fields[i].name == fields[i].first && alone.fields[i].value == fields[i].second);

    // Shorter prefixes: a few, spread over the head (all would be quadratic).
    es::http::RequestHead scratch;
    const std::size_t step = parsed.size / 16 + 1;
    for (std::size_t n = 0; n < parsed.size; n += step)
      FUZZ_CHECK(parse_copy(bytes.substr(0, n), scratch).status == HeadStatus::partial);
    FUZZ_CHECK(parse_copy(bytes.substr(0, parsed.size - 1), scratch).status == HeadStatus::partial);
  } else {
    FUZZ_CHECK(parsed.size == 0);
  }

  if (parsed.status == HeadStatus::partial) {
    es::http::RequestHead scratch;
    const std::size_t step = bytes.size() / 16 + 1;
    for (std::size_t n = 0; n < bytes.size(); n += step)
      FUZZ_CHECK(parse_copy(bytes.substr(0, n), scratch).status == HeadStatus::partial);
  }

  if (parsed.status == HeadStatus::malformed) {
    es::http::RequestHead scratch;
    for (const std::string_view more : {"\r\n\r\n", "\n\n", " / HTTP/1.1\r\nHost: x\r\n\r\n", "a"}) {
      const std::string longer = std::string(bytes) + std::string(more);
      FUZZ_CHECK(parse_copy(longer, scratch).status == HeadStatus::malformed);
    }
  }
  return 0;
}
