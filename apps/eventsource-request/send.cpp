// SPDX-License-Identifier: GPL-3.0-or-later
#include "send.hpp"

#include "server_trust.hpp"

#include <es/event_kind.hpp>

#include <array>
#include <cerrno>
#include <cstring>
#include <string_view>

#include <unistd.h>

namespace es::apps {
namespace {

void say(std::FILE* err, const std::string& text) {
  const std::string line = "eventsource-request: " + text + "\n";
  std::fwrite(line.data(), 1, line.size(), err);
}

// The whole of `in`; nullopt (errno kept) when reading fails.
std::optional<std::string> read_all(std::FILE* in) {
  std::string data;
  std::array<char, 65536> buf;
  for (;;) {
    const std::size_t n = std::fread(buf.data(), 1, buf.size(), in);
    data.append(buf.data(), n);
    if (n < buf.size()) break;
  }
  if (std::ferror(in)) return std::nullopt;
  return data;
}

// The server's reason: its error bodies are one line of text.
std::string first_line(std::string_view body) {
  std::string_view line = body.substr(0, body.find_first_of("\r\n"));
  while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
  return std::string(line.substr(0, 300));
}

}  // namespace

int send_event(const SendSettings& settings, std::FILE* in, std::FILE* out, std::FILE* err) {
  std::string data;
  if (settings.data) {
    data = *settings.data;
  } else {
    // Reading a terminal waits for the user: say so, or it looks like a hang.
    if (::isatty(::fileno(in)) == 1) say(err, "reading the data from standard input; end it with Ctrl-D");
    std::optional<std::string> read = read_all(in);
    if (!read) {
      say(err, std::string("cannot read the data from standard input: ") + std::strerror(errno));
      return request_exit::bad_data;
    }
    data = std::move(*read);
  }

  PublishOptions options = settings.publish;
  if (settings.json) {
    // The same check the server makes in JSON mode (-j), so what passes here
    // is what the server accepts.
    if (Result<std::string> checked = compact_json(data); !checked) {
      say(err, checked.error());
      return request_exit::bad_data;
    }
    options.content_type = "application/json";
  }

  const PublishOutcome outcome = publish(options, settings.token, settings.action, data);
  if (!outcome) {
    const ClientError& e = *outcome.error;
    std::string text = e.message;
    if (e.kind == FailureKind::refused) text += " (is eventsource-server running?)";
    text += trust_hint(e);
    say(err, text);
    const bool timed_out = e.kind == FailureKind::timed_out || e.kind == FailureKind::connect_timeout;
    return timed_out ? request_exit::timeout : request_exit::unreachable;
  }
  const PublishReply& reply = *outcome.reply;
  if (!reply.ok()) {
    std::string text = std::to_string(reply.status);
    if (!reply.reason.empty()) text += " " + reply.reason;
    if (const std::string reason = first_line(reply.body); !reason.empty()) text += ": " + reason;
    say(err, text);
    return request_exit::http_error;
  }
  std::string body = reply.body;
  if (!body.empty() && body.back() != '\n') body += '\n';
  std::fwrite(body.data(), 1, body.size(), out);
  std::fflush(out);
  return request_exit::ok;
}

}  // namespace es::apps
