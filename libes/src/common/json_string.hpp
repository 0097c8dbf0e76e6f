// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// A text as a JSON string, quoted. On hot paths (every event framed for
// WebSocket, every publish answer): printable ASCII with nothing to escape
// is quoted as is; the rest goes through nlohmann, and invalid UTF-8
// becomes U+FFFD (a WebSocket text frame must be UTF-8).

#include <string>
#include <string_view>

namespace es {

std::string json_string(std::string_view text);

}  // namespace es
