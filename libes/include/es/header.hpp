// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// HTTP header fields in the public API: Header owns its text (headers a
// client sends); HeaderView looks into a request the server is handling
// (valid only during the hook call that receives it).

#include <string>
#include <string_view>

namespace es {

/// A header field to send.
struct Header {
  std::string name;
  std::string value;
};

/// A header field of a received request.
struct HeaderView {
  std::string_view name;
  std::string_view value;
};

}  // namespace es
