// SPDX-License-Identifier: GPL-3.0-or-later
// A user-defined event kind, as the upstream README shows it in Python:
// OneLineEvent joins the lines of a body with ';' and allows only ping and
// close; OneLineTimeStampEvent adds a timestamp id. Each kind is a few lines
// on top of a ready-made one. The program makes events from a few bodies and
// prints what a subscriber would receive.

#include <es/event_kind.hpp>
#include <es/serializer.hpp>

#include <iostream>
#include <memory>
#include <string>
#include <string_view>

namespace {

es::EventKind one_line_events() {
  es::EventKind kind = es::EventKind::string_events();
  kind.name = "one-line";
  kind.actions = {"ping", std::string(es::close_action)};
  kind.transform = [](std::string_view body) -> es::Result<std::string> { return es::join_lines(body, ";"); };
  return kind;
}

es::EventKind one_line_timestamp_events() {
  es::EventKind kind = one_line_events();
  kind.name = "one-line-timestamp";
  kind.ids = std::make_shared<es::TimestampIdSource>();
  return kind;
}

/// The body as a C string literal would spell it, so line breaks show.
std::string visible(std::string_view body) {
  std::string shown = "\"";
  for (const char c : body) {
    if (c == '\n') shown += "\\n";
    else if (c == '\r') shown += "\\r";
    else shown += c;
  }
  return shown + "\"";
}

/// What the server does with `POST /action/token` and `body`, printed.
void publish(const es::EventKind& kind, std::string_view token, std::string_view action, std::string_view body) {
  std::cout << "# " << kind.name << ": POST /" << action << '/' << token << ' ' << visible(body) << '\n';
  es::Result<es::Event> event = kind.make_event(action, body);
  if (!event) {
    // The server answers an action it does not know with 404, a bad body with 400.
    std::cout << (kind.allows(action) ? "400 " : "404 ") << event.error() << "\n\n";
    return;
  }
  if (kind.ids) event.value().id = kind.ids->next(token);
  const es::Result<std::string> bytes = es::serialize(*event);
  if (!bytes) {
    std::cout << "400 " << bytes.error() << "\n\n";
    return;
  }
  std::cout << *bytes;
}

}  // namespace

int main() {
  const es::EventKind one_line = one_line_events();
  publish(one_line, "alice", "ping", "first line\nsecond line\r\nthird line");
  publish(one_line, "alice", "ping", "already one line");
  publish(one_line, "alice", "retry", "5000");
  publish(one_line, "alice", "close", "");

  const es::EventKind timestamped = one_line_timestamp_events();
  publish(timestamped, "bob", "ping", "a\nb");
  publish(timestamped, "bob", "ping", "c\rd");
  publish(timestamped, "bob", "close", "bye\n");
  return 0;
}
