#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace mtasts::agent {

/// Token buckets per client (API key or address): `per_minute` tokens refill continuously up
/// to `burst`. The number of buckets is bounded: when full, idle (refilled) buckets are dropped,
/// and if none is idle the oldest is. Any rate and burst are safe: they are clamped to
/// [kMinPerMinute, kMaxPerMinute] and [1, kMaxBurst] (a rate of zero, below zero or not a number
/// is the minimum rate), and the wait Acquire returns is at most kMaxWaitSeconds. Thread-safe.
class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr double kMinPerMinute = 0.01;  // one every 100 minutes
  static constexpr double kMaxPerMinute = 1e9;
  static constexpr double kMaxBurst = 1e9;
  static constexpr int kMaxWaitSeconds = 3600;

  RateLimiter(double per_minute, int burst, std::size_t max_clients = 10000);

  /// Takes a token for `client`. Returns 0 when allowed, else the whole seconds to wait
  /// (1 to kMaxWaitSeconds).
  int Acquire(const std::string& client, Clock::time_point now = Clock::now());

  /// The seconds `client` would wait for a token (0: one is there), without taking it.
  int Peek(const std::string& client, Clock::time_point now = Clock::now());

  /// New rate and burst for every bucket, present and future (a config reload): each bucket keeps
  /// its tokens (at most the new burst), so a reload never refills an emptied bucket.
  void Reconfigure(double per_minute, int burst, Clock::time_point now = Clock::now());

 private:
  struct Bucket {
    double tokens;
    Clock::time_point updated;
  };
  void Refill(Bucket& bucket, Clock::time_point now) const;
  Bucket& Find(const std::string& client, Clock::time_point now);  // mutex_ held
  int Wait(const Bucket& bucket) const;

  std::size_t max_clients_;
  std::mutex mutex_;
  double per_second_;                                // guarded by mutex_
  double burst_;                                     // guarded by mutex_
  std::unordered_map<std::string, Bucket> buckets_;  // guarded by mutex_
};

}  // namespace mtasts::agent
