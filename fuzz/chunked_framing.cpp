// SPDX-License-Identifier: GPL-3.0-or-later
// Fuzz target: es::http::ChunkedScanner (libes/src/http/chunked_framing.cpp).
//
// Input: 3 control bytes (seed and shape of the split points), then the body
// as it arrives after a request head with Transfer-Encoding: chunked.
//
// Checks:
// - fed whole, in pieces (empty ones included) or byte by byte, the scanner
//   ends in the same status with the same scanned() and data_bytes();
// - scanned() never passes the bytes fed; while partial it is all of them;
// - complete: the body is at least "0\n\n", its framed bytes alone scan
//   complete with the same counts, its decoded length is less than its framed
//   length, and nothing fed afterwards (a pipelined request) changes anything;
// - malformed: stays malformed, whatever follows.

#include "fuzz_support.hpp"

#include "http/chunked_framing.hpp"

namespace {

using es::http::ChunkedScanner;
using es::http::ChunkedStatus;

struct Outcome {
  ChunkedStatus status;
  std::uint64_t scanned;
  std::uint64_t data_bytes;
  friend bool operator==(const Outcome&, const Outcome&) = default;
};

Outcome outcome(const ChunkedScanner& s) { return {s.status(), s.scanned(), s.data_bytes()}; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  es::fuzz::Input input(data, size, 3);
  const std::uint8_t seed_low = input.next();
  const std::uint8_t seed_high = input.next();
  es::fuzz::Splitter splitter(seed_low, seed_high, input.next());
  const std::string_view body = input.rest();

  ChunkedScanner whole;
  const ChunkedStatus status = whole.feed(es::fuzz::Piece(body).view());
  FUZZ_CHECK(status == whole.status());
  const Outcome expected = outcome(whole);
  FUZZ_CHECK(expected.scanned <= body.size());
  if (status == ChunkedStatus::partial) FUZZ_CHECK(expected.scanned == body.size());

  ChunkedScanner pieces;
  for (std::size_t at = 0; at < body.size();) {
    const std::size_t n = splitter.next(body.size() - at);
    const Outcome before = outcome(pieces);
    const ChunkedStatus s = pieces.feed(es::fuzz::Piece(body.substr(at, n)).view());
    FUZZ_CHECK(s == pieces.status());
    FUZZ_CHECK(pieces.scanned() >= before.scanned && pieces.scanned() - before.scanned <= n);
    if (before.status != ChunkedStatus::partial) FUZZ_CHECK(outcome(pieces) == before);  // final
    at += n;
  }
  FUZZ_CHECK(outcome(pieces) == expected);

  ChunkedScanner bytes;
  for (std::size_t at = 0; at < body.size(); ++at) bytes.feed(es::fuzz::Piece(body.substr(at, 1)).view());
  FUZZ_CHECK(outcome(bytes) == expected);

  if (status == ChunkedStatus::complete) {
    FUZZ_CHECK(expected.scanned >= 3);
    FUZZ_CHECK(expected.data_bytes < expected.scanned);
    ChunkedScanner framed;
    framed.feed(es::fuzz::Piece(body.substr(0, static_cast<std::size_t>(expected.scanned))).view());
    FUZZ_CHECK(outcome(framed) == expected);
  }
  if (status != ChunkedStatus::partial) {
    whole.feed("0\r\n\r\nGET / HTTP/1.1\r\n\r\n");
    FUZZ_CHECK(outcome(whole) == expected);
  }
  return 0;
}
