// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// Raw HTTP and SSE as the black-box server tests read them off a RawStream
// (harness.hpp): a response's head, header lookup and body, and the event
// blocks of a stream, byte for byte as the server wrote them.

#include "harness.hpp"

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace es::test {

/// ASCII case-insensitive equality and substring search (header names and lists).
bool iequals(std::string_view a, std::string_view b);
bool icontains(std::string_view haystack, std::string_view needle);

/// The value of header `name` in a response head (status line + "Name: value\r\n" lines).
std::optional<std::string> header(const std::string& head, std::string_view name);
/// Every value of header `name` in a response head, in order (a field may be repeated).
std::vector<std::string> header_values(const std::string& head, std::string_view name);

/// One complete HTTP/1.1 response read off a raw connection (Content-Length framed).
struct RawResponse {
  int status = 0;
  std::string head; // status line and headers, each ending in CRLF
  std::string body;
  size_t end = 0; // offset just past this response in the connection's bytes
};

/// The response starting at `from` in a connection's bytes, once it is complete.
std::optional<RawResponse> parse_response(const std::string& bytes, size_t from = 0);
/// Every complete response in `bytes`, in order (pipelined answers).
std::vector<RawResponse> parse_responses(const std::string& bytes);

/// An event as it appeared on the wire (LF-framed, as the server writes it).
struct WireEvent {
  std::string id, name, data, retry;
  friend bool operator==(const WireEvent&, const WireEvent&) = default;
};

/// Complete blocks (text before each blank line) of an event stream, leaving
/// out blocks made only of comments (keepalives).
std::vector<std::string> event_blocks(std::string_view body);

std::vector<WireEvent> parse_events(std::string_view body);

/// Counts complete non-comment events of a growing stream without rescanning
/// it, for streams of many megabytes.
class EventCounter {
 public:
  size_t update(const std::string& bytes);
  size_t count() const { return count_; }

 private:
  size_t block_ = std::string::npos;
  size_t scan_ = 0;
  size_t count_ = 0;
};

/// The wire form the server writes for a named event (docs/architecture.md:
/// LF line ends; field order id, retry, event, data).
std::string wire(std::string_view name, std::string_view data, std::string_view id = {});

/// Reads until the stream holds `n` complete events (comments not counted).
bool read_events(RawStream& s, size_t n, std::chrono::milliseconds timeout = 10s);

/// The response to a raw GET that the server refuses (status, headers, body);
/// requires that a complete response came.
RawResponse raw_get_response(int port, const std::string& path, const std::vector<std::string>& headers = {});

/// Sends `request` (the raw bytes of a whole request) on a new connection
/// and returns the first response; requires that a complete response came.
RawResponse raw_response(int port, const std::string& request);

} // namespace es::test
