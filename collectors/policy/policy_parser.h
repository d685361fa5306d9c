#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "collectors/report/policy.h"

namespace mtasts::policy {

/// Parses a policy body under the exact ABNF of RFC 8461 §3.2 (see RFC-NOTES R12-R19): LF or
/// CRLF line ends, no blank or indented lines, fields in any order, case-sensitive names and
/// values, the first of a repeated non-mx field wins, unknown fields ignored, max_age 1-10
/// digits within 0..kMaxMaxAge, mx required unless mode is none. The error message names the
/// line and the problem. Total: never throws, never hangs, on any byte sequence.
Result<Policy> ParsePolicy(std::string_view body);

}  // namespace mtasts::policy
