#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mtasts::mx {

/// RFC 8461 §4.1: does MX host `host` match policy pattern `pattern`? ASCII case-insensitive,
/// a trailing dot on either side ignored; a `*.` pattern matches exactly one whole left-most
/// label (`*.example.com` matches `a.example.com`, not `example.com` or `a.b.example.com`).
bool MxPatternMatches(std::string_view pattern, std::string_view host);

/// The hosts (in input order) that match none of the patterns.
std::vector<std::string> UncoveredHosts(const std::vector<std::string>& patterns,
                                        const std::vector<std::string>& hosts);

}  // namespace mtasts::mx
