#include "collectors/mx/mx_matcher.h"

#include <cstddef>

#include "base/ascii.h"

namespace mtasts::mx {
namespace {

// A fully qualified name may be written with its root dot; one trailing dot is ignored.
std::string_view StripTrailingDot(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return name;
}

// A name we can compare at all: non-empty, no empty label (a second trailing dot, "a..b", a
// leading dot) and no "*" anywhere (wildcards belong to patterns, never to hosts).
bool IsComparableName(std::string_view name) {
  if (name.empty()) return false;
  if (name.front() == '.' || name.back() == '.') return false;
  if (name.find("..") != std::string_view::npos) return false;
  return name.find('*') == std::string_view::npos;
}

}  // namespace

bool MxPatternMatches(std::string_view pattern, std::string_view host) {
  pattern = StripTrailingDot(pattern);
  host = StripTrailingDot(host);
  if (!IsComparableName(host)) return false;

  // RFC 8461 §4.1: "*" may only stand for the whole left-most label, as "*.suffix". Any other
  // use of "*" ("*", "mx*.example.com", "*.*.example.com", "a.*.example.com") matches nothing.
  if (pattern.size() > 2 && pattern.substr(0, 2) == "*.") {
    std::string_view suffix = pattern.substr(2);
    if (!IsComparableName(suffix)) return false;
    std::size_t dot = host.find('.');
    if (dot == std::string_view::npos || dot == 0) return false;  // needs one non-empty label
    // Exactly one label: everything after the host's first dot must equal the suffix, so
    // "*.example.com" matches neither "example.com" nor "a.b.example.com".
    return EqualsIgnoreAsciiCase(host.substr(dot + 1), suffix);
  }
  if (!IsComparableName(pattern)) return false;
  return EqualsIgnoreAsciiCase(pattern, host);
}

std::vector<std::string> UncoveredHosts(const std::vector<std::string>& patterns,
                                        const std::vector<std::string>& hosts) {
  std::vector<std::string> uncovered;
  for (const std::string& host : hosts) {
    bool covered = false;
    for (const std::string& pattern : patterns) {
      if (MxPatternMatches(pattern, host)) {
        covered = true;
        break;
      }
    }
    if (!covered) uncovered.push_back(host);
  }
  return uncovered;
}

}  // namespace mtasts::mx
