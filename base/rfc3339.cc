#include "base/rfc3339.h"

#include <cstdio>
#include <ctime>

namespace mtasts {

std::string FormatRfc3339Millis(std::int64_t unix_millis) {
  std::time_t seconds = unix_millis / 1000;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[40];
  std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(unix_millis % 1000));
  return buf;
}

}  // namespace mtasts
