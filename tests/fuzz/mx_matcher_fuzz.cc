// libFuzzer target: the MX pattern matcher (RFC 8461 §4.1). The input is "PATTERN\nHOST";
// further lines are more hosts for UncoveredHosts.
#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "collectors/mx/mx_matcher.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

std::string Upper(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return text;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  using namespace mtasts;
  const auto text = fuzz::AsText(data, size);
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t nl = text.find('\n', start);
    const std::size_t end = nl == std::string_view::npos ? text.size() : nl;
    lines.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  const std::string pattern = lines.front();
  const std::string host = lines.size() > 1 ? lines[1] : "";
  const bool match = mx::MxPatternMatches(pattern, host);
  // ASCII case never matters, on either side.
  fuzz::Require(match == mx::MxPatternMatches(Upper(pattern), host), "pattern case-insensitive",
                pattern);
  fuzz::Require(match == mx::MxPatternMatches(pattern, Upper(host)), "host case-insensitive", host);
  if (match && pattern.rfind("*.", 0) == 0) {
    fuzz::Require(host.find('.') != std::string::npos, "a wildcard match has a dot", host);
  }
  const std::vector<std::string> patterns = {pattern};
  const std::vector<std::string> hosts(lines.begin() + 1, lines.end());
  const auto uncovered = mx::UncoveredHosts(patterns, hosts);
  fuzz::Require(uncovered.size() <= hosts.size(), "uncovered is a subset of the hosts");
  return 0;
}
