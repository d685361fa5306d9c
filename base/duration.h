#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "base/result.h"

namespace mtasts {

/// Parses a Prometheus-style duration: one or more NUMBER UNIT pairs, largest unit first, with
/// units y, w, d, h, m, s, ms ("90s", "5m", "1h30m", "7d"). "0" alone is zero.
Result<std::chrono::milliseconds> ParseDuration(std::string_view text);

/// The shortest Prometheus-style text for a duration ("1h30m", "500ms").
std::string FormatDuration(std::chrono::milliseconds duration);

}  // namespace mtasts
