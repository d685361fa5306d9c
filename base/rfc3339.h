#pragma once

#include <cstdint>
#include <string>

namespace mtasts {

/// RFC 3339 UTC with milliseconds, "2026-11-29T07:00:00.123Z": how reports, logs, events and
/// the history-aware issues show a time.
std::string FormatRfc3339Millis(std::int64_t unix_millis);

}  // namespace mtasts
