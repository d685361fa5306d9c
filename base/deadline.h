#pragma once

#include <algorithm>
#include <chrono>

namespace mtasts {

/// A point in time by which a piece of work must be done. Every network call takes one, so a
/// whole domain check is bounded by --check.timeout however many steps it has.
class Deadline {
 public:
  using Clock = std::chrono::steady_clock;

  explicit Deadline(Clock::time_point at) : at_(at) {}
  static Deadline After(Clock::duration budget) { return Deadline(Clock::now() + budget); }

  Clock::time_point at() const { return at_; }
  bool expired() const { return Clock::now() >= at_; }
  /// Time left, never negative.
  std::chrono::milliseconds remaining() const {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(at_ - Clock::now());
    return std::max(left, std::chrono::milliseconds(0));
  }

 private:
  Clock::time_point at_;
};

}  // namespace mtasts
