// SPDX-License-Identifier: GPL-3.0-or-later
#include "http/chunked_framing.hpp"

#include <doctest/doctest.h>

#include <string>
#include <string_view>

using es::http::ChunkedScanner;
using es::http::ChunkedStatus;

namespace {

// Feeds `body` in two pieces split at `at`.
ChunkedScanner scan_split(std::string_view body, std::size_t at) {
  ChunkedScanner scanner;
  scanner.feed(body.substr(0, at));
  scanner.feed(body.substr(at));
  return scanner;
}

ChunkedStatus scan(std::string_view body) {
  ChunkedScanner scanner;
  return scanner.feed(body);
}

}  // namespace

TEST_CASE("chunked: a body is complete after the last chunk and the blank line, however it is split") {
  const std::string body = "6\r\nchunk \r\n4\r\none\n\r\n3\r\ntwo\r\n0\r\n\r\n";
  for (std::size_t at = 0; at <= body.size(); ++at) {
    CAPTURE(at);
    ChunkedScanner scanner = scan_split(body, at);
    CHECK(scanner.status() == ChunkedStatus::complete);
    CHECK(scanner.scanned() == body.size());
    CHECK(scanner.data_bytes() == 13);
  }
  ChunkedScanner bytewise;
  for (char c : body) bytewise.feed(std::string_view(&c, 1));
  CHECK(bytewise.status() == ChunkedStatus::complete);
}

TEST_CASE("chunked: every proper prefix of a body is partial") {
  const std::string body = "a\r\n0123456789\r\n0\r\n\r\n";
  for (std::size_t n = 0; n < body.size(); ++n) {
    CAPTURE(n);
    CHECK(scan(std::string_view(body).substr(0, n)) == ChunkedStatus::partial);
  }
  CHECK(scan(body) == ChunkedStatus::complete);
}

TEST_CASE("chunked: bytes after the body (a pipelined request) are not consumed") {
  const std::string body = "3\r\nabc\r\n0\r\n\r\n";
  ChunkedScanner scanner;
  CHECK(scanner.feed(body + "GET /stats HTTP/1.1\r\n\r\n") == ChunkedStatus::complete);
  CHECK(scanner.scanned() == body.size());
  CHECK(scanner.feed("more") == ChunkedStatus::complete);
  CHECK(scanner.scanned() == body.size());
}

TEST_CASE("chunked: an empty body is the last chunk alone") {
  ChunkedScanner scanner;
  CHECK(scanner.feed("0\r\n\r\n") == ChunkedStatus::complete);
  CHECK(scanner.data_bytes() == 0);
}

TEST_CASE("chunked: sizes are hex in either case, and extensions, trailer fields and bare LF line ends are skipped") {
  ChunkedScanner scanner;
  const std::string data(0x1A, 'x');
  CHECK(scanner.feed("1a;name=\"value\"\r\n" + data + "\r\n0 ; last\nExpires: never\r\nX: y\n\r\n") ==
        ChunkedStatus::complete);
  CHECK(scanner.data_bytes() == 26);
  ChunkedScanner upper;
  CHECK(upper.feed("1A\r\n" + data + "\r\n0\r\n\n") == ChunkedStatus::complete);
}

TEST_CASE("chunked: a chunk's size counts before its data arrives, so an oversized body is seen at once") {
  ChunkedScanner scanner;
  CHECK(scanner.feed("100000\r\nab") == ChunkedStatus::partial);
  CHECK(scanner.data_bytes() == 0x100000);
}

TEST_CASE("chunked: framing errors are malformed and stay so") {
  CHECK(scan("\r\n") == ChunkedStatus::malformed);              // no size
  CHECK(scan("x\r\n") == ChunkedStatus::malformed);             // not hex
  CHECK(scan("3x\r\nabc\r\n") == ChunkedStatus::malformed);     // junk after the size
  CHECK(scan("3\rabc") == ChunkedStatus::malformed);            // CR without LF
  CHECK(scan("3\r\nabcd\r\n") == ChunkedStatus::malformed);     // more data than announced
  CHECK(scan("3\r\nabc\n0\r\n\r\n") == ChunkedStatus::malformed); // data must end in CRLF
  CHECK(scan("0\r\n\rX") == ChunkedStatus::malformed);          // CR without LF in the blank line
  CHECK(scan("10000000000000000\r\n") == ChunkedStatus::malformed); // over 64 bits
  ChunkedScanner scanner;
  CHECK(scanner.feed("zz") == ChunkedStatus::malformed);
  CHECK(scanner.feed("0\r\n\r\n") == ChunkedStatus::malformed);
}
