// SPDX-License-Identifier: GPL-3.0-or-later
// The man pages must match the programs: every option a program's --help
// lists appears in its page (h2o's habit: a test keeps doc and code together).
#include <doctest/doctest.h>

#include "harness.hpp"

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <unistd.h>

using namespace es::test;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// The long and short options named in CLI11's --help text ("  -P,--port UINT ...").
std::set<std::string> options_in_help(const std::string& help) {
  std::set<std::string> found;
  static const std::regex option(R"((^|[\s,])(--?[A-Za-z][A-Za-z0-9-]*))");
  std::istringstream lines(help);
  for (std::string line; std::getline(lines, line);) {
    // Option lines start with whitespace then a dash; descriptions may mention others.
    auto first = line.find_first_not_of(' ');
    if (first == std::string::npos || line[first] != '-') continue;
    auto words_end = line.find("  ", first); // the description starts after two spaces
    std::string names = line.substr(first, words_end == std::string::npos ? std::string::npos : words_end - first);
    for (std::sregex_iterator it(names.begin(), names.end(), option), end; it != end; ++it)
      found.insert((*it)[2].str());
  }
  return found;
}

/// roff escapes dashes as "\-"; the page text with those undone.
std::string page_text(const std::string& program) {
  std::string page = read_file(std::string(ES_SOURCE_DIR) + "/man/" + program + ".1");
  std::string plain;
  for (size_t i = 0; i < page.size(); ++i) {
    if (page[i] == '\\' && i + 1 < page.size() && page[i + 1] == '-') continue;
    plain += page[i];
  }
  return plain;
}

void check_program(const std::string& program) {
  const std::string path = program_path(program);
  REQUIRE_MESSAGE(access(path.c_str(), X_OK) == 0, path << " is not built");
  Process p({path, "--help"});
  REQUIRE(p.wait_exit(10s) == 0);
  auto options = options_in_help(p.out());
  CHECK_MESSAGE(options.size() >= 3, "too few options found in --help:\n" << p.out());
  const std::string page = page_text(program);
  REQUIRE_MESSAGE(!page.empty(), "man/" << program << ".1 is missing");
  for (const auto& o : options) {
    // A whole-word match: "--id" must not be satisfied by "--idle".
    std::regex word("(^|[^A-Za-z0-9-])" + std::regex_replace(o, std::regex("-"), "\\-") + "($|[^A-Za-z0-9-])");
    CHECK_MESSAGE(std::regex_search(page, word), program << ": option " << o << " is in --help but not in man/"
                                                         << program << ".1");
  }
}

}  // namespace

TEST_CASE("man pages: every option of eventsource-server is documented") { check_program("eventsource-server"); }
TEST_CASE("man pages: every option of eventsource-client is documented") { check_program("eventsource-client"); }
TEST_CASE("man pages: every option of eventsource-request is documented") { check_program("eventsource-request"); }
TEST_CASE("man pages: every option of eventsource-bench is documented") { check_program("eventsource-bench"); }
