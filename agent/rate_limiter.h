#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace mtasts::agent {

/// Token buckets per client (API key or address): `per_minute` tokens refill continuously up
/// to `burst`. The number of buckets is bounded: when full, idle (refilled) buckets are dropped,
/// and if none is idle the oldest is. Thread-safe.
class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  RateLimiter(double per_minute, int burst, std::size_t max_clients = 10000);

  /// Takes a token for `client`. Returns 0 when allowed, else the whole seconds to wait.
  int Acquire(const std::string& client, Clock::time_point now = Clock::now());

 private:
  struct Bucket {
    double tokens;
    Clock::time_point updated;
  };
  void Refill(Bucket& bucket, Clock::time_point now) const;

  double per_second_;
  double burst_;
  std::size_t max_clients_;
  std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;  // guarded by mutex_
};

}  // namespace mtasts::agent
