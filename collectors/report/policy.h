#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/report/txt_fields.h"

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

}  // namespace mtasts::policy
