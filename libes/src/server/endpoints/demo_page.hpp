// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// The page eventsource-server --demo serves at GET / (demo_page.html,
// compiled in by CMake so the server needs no files at run time).

#include <string_view>

namespace es {

extern const std::string_view demo_page_html;

}  // namespace es
