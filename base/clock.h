#pragma once

#include <chrono>
#include <cstdint>

namespace mtasts {

/// Wall-clock time as Unix milliseconds: what reports, logs, state and metrics carry. Code that
/// schedules or must be tested against a fake clock takes a clock function instead.
inline std::int64_t NowUnixMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// Wall-clock time as Unix seconds.
inline std::int64_t NowUnixSeconds() {
  return NowUnixMillis() / 1000;
}

}  // namespace mtasts
