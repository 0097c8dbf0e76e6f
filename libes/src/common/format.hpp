// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// How durations and addresses are written in logs and messages: one way
// each, so that every log line reads alike.

#include <chrono>
#include <string>
#include <string_view>

namespace es {

/// "850us", "12.5ms", "3.2s".
std::string format_duration(std::chrono::nanoseconds d);

/// A host as it goes before ":PORT": an IPv6 literal in brackets ("[::1]").
std::string format_host(std::string_view host);

/// "IP:PORT", "[IPv6]:PORT".
std::string format_address(std::string_view host, int port);

}  // namespace es
