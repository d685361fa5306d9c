#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/common/result.h"
#include "collectors/common/txt_fields.h"

namespace mtasts::policy {

enum class Mode { kEnforce, kTesting, kNone };
std::string_view ModeName(Mode mode);  // "enforce", "testing", "none"

/// RFC 8461 §3.2: max_age is at most 31557600 seconds (one year).
inline constexpr std::uint32_t kMaxMaxAge = 31557600;

/// A valid policy file.
struct Policy {
  std::string version;  // always "STSv1"
  Mode mode = Mode::kNone;
  std::uint32_t max_age = 0;    // seconds
  std::vector<std::string> mx;  // patterns as published, in order
  Extensions extensions;        // unknown fields
};

/// Parses a policy body under the exact ABNF of RFC 8461 §3.2 (see RFC-NOTES R12-R19): LF or
/// CRLF line ends, no blank or indented lines, fields in any order, case-sensitive names and
/// values, the first of a repeated non-mx field wins, unknown fields ignored, max_age 1-10
/// digits within 0..kMaxMaxAge, mx required unless mode is none. The error message names the
/// line and the problem. Total: never throws, never hangs, on any byte sequence.
Result<Policy> ParsePolicy(std::string_view body);

}  // namespace mtasts::policy
