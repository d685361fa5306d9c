#include "base/duration.h"

#include <array>
#include <cstdint>
#include <limits>
#include <utility>

namespace mtasts {
namespace {

struct Unit {
  std::string_view name;
  std::int64_t millis;
};

// Order matters twice: "ms" must be tried before "m", and units must appear largest first.
constexpr std::array<Unit, 7> kUnits = {{{"y", 365LL * 24 * 3600 * 1000},
                                         {"w", 7LL * 24 * 3600 * 1000},
                                         {"d", 24LL * 3600 * 1000},
                                         {"h", 3600LL * 1000},
                                         {"ms", 1},
                                         {"m", 60LL * 1000},
                                         {"s", 1000}}};

int Rank(std::string_view unit) {  // larger units rank lower
  constexpr std::array<std::string_view, 7> kOrder = {"y", "w", "d", "h", "m", "s", "ms"};
  for (std::size_t i = 0; i < kOrder.size(); ++i) {
    if (kOrder[i] == unit) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace

Result<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  const std::string quoted = "\"" + std::string(text) + "\"";
  if (text == "0") return std::chrono::milliseconds(0);
  if (text.empty()) return Error{"empty duration; expected e.g. 90s, 5m, 1h, 7d"};
  std::int64_t total = 0;
  int last_rank = -1;
  std::size_t i = 0;
  while (i < text.size()) {
    std::int64_t number = 0;
    std::size_t digits = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (number > (std::numeric_limits<std::int64_t>::max() - 9) / 10) {
        return Error{"duration " + quoted + " is too large"};
      }
      number = number * 10 + (text[i] - '0');
      ++i;
      ++digits;
    }
    if (digits == 0) {
      return Error{"invalid duration " + quoted + ": expected a number at position " +
                   std::to_string(i + 1) + " (units y, w, d, h, m, s, ms; e.g. 90s, 1h30m)"};
    }
    const Unit* unit = nullptr;
    for (const auto& candidate : kUnits) {
      if (text.substr(i, candidate.name.size()) == candidate.name) {
        unit = &candidate;
        break;
      }
    }
    if (unit == nullptr) {
      return Error{"invalid duration " + quoted + ": missing or unknown unit after " +
                   std::to_string(number) + " (units y, w, d, h, m, s, ms)"};
    }
    int rank = Rank(unit->name);
    if (rank <= last_rank) {
      return Error{"invalid duration " + quoted +
                   ": units must go from largest to smallest, once each"};
    }
    last_rank = rank;
    if (number > std::numeric_limits<std::int64_t>::max() / unit->millis ||
        total > std::numeric_limits<std::int64_t>::max() - number * unit->millis) {
      return Error{"duration " + quoted + " is too large"};
    }
    total += number * unit->millis;
    i += unit->name.size();
  }
  return std::chrono::milliseconds(total);
}

std::string FormatDuration(std::chrono::milliseconds duration) {
  std::int64_t left = duration.count();
  if (left == 0) return "0s";
  std::string out;
  constexpr std::array<Unit, 7> kFormatOrder = {{{"y", 365LL * 24 * 3600 * 1000},
                                                 {"w", 7LL * 24 * 3600 * 1000},
                                                 {"d", 24LL * 3600 * 1000},
                                                 {"h", 3600LL * 1000},
                                                 {"m", 60LL * 1000},
                                                 {"s", 1000},
                                                 {"ms", 1}}};
  for (const auto& unit : kFormatOrder) {
    if (left >= unit.millis) {
      out += std::to_string(left / unit.millis) + std::string(unit.name);
      left %= unit.millis;
    }
  }
  return out;
}

}  // namespace mtasts
