// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// An es::Parser that records everything it reports, for the parser and
// round-trip tests to compare runs by.

#include <es/parser.hpp>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace es::test {

// Everything a parser reported, in a form two runs can be compared by.
struct Parsed {
  std::vector<es::Event> events;
  std::vector<std::chrono::milliseconds> retries;
  std::vector<std::string> comments;
  std::string last_event_id;
  es::ParseError error = es::ParseError::none; ///< the first error feed() returned

  friend bool operator==(const Parsed&, const Parsed&) = default;
};

class RecordingParser {
 public:
  explicit RecordingParser(es::ParserLimits limits = {})
      : parser_({[this](const es::Event& e) { out_.events.push_back(e); },
                 [this](std::chrono::milliseconds retry) { out_.retries.push_back(retry); },
                 [this](std::string_view comment) { out_.comments.emplace_back(comment); }},
                limits) {}
  RecordingParser(const RecordingParser&) = delete;
  RecordingParser& operator=(const RecordingParser&) = delete;

  /// What the parser's feed() returned.
  es::ParseError feed(std::string_view bytes) {
    const es::ParseError error = parser_.feed(bytes);
    if (out_.error == es::ParseError::none) out_.error = error;
    return error;
  }
  const es::Parser& parser() const noexcept { return parser_; }
  Parsed result() {
    out_.last_event_id = parser_.last_event_id();
    return out_;
  }

 private:
  Parsed out_;
  es::Parser parser_;
};

}  // namespace es::test
