#include "agent/http/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace mtasts::agent {
namespace {

double ClampRate(double per_minute) {
  // NaN fails every comparison: it becomes the minimum, like zero and negative rates.
  if (!(per_minute >= RateLimiter::kMinPerMinute)) return RateLimiter::kMinPerMinute;
  return std::min(per_minute, RateLimiter::kMaxPerMinute);
}

double ClampBurst(int burst) {
  return std::clamp(static_cast<double>(burst), 1.0, RateLimiter::kMaxBurst);
}

}  // namespace

RateLimiter::RateLimiter(double per_minute, int burst, std::size_t max_clients)
    : max_clients_(std::max<std::size_t>(1, max_clients)),
      per_second_(ClampRate(per_minute) / 60.0),
      burst_(ClampBurst(burst)) {}

void RateLimiter::Refill(Bucket& bucket, Clock::time_point now) const {
  const double elapsed = std::chrono::duration<double>(now - bucket.updated).count();
  if (elapsed > 0) {
    bucket.tokens = std::min(burst_, bucket.tokens + elapsed * per_second_);
    bucket.updated = now;
  }
}

RateLimiter::Bucket& RateLimiter::Find(const std::string& client, Clock::time_point now) {
  auto it = buckets_.find(client);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_clients_) {
      // Drop buckets that have refilled completely: forgetting them changes nothing.
      for (auto b = buckets_.begin(); b != buckets_.end();) {
        Refill(b->second, now);
        b = b->second.tokens >= burst_ ? buckets_.erase(b) : std::next(b);
      }
      if (buckets_.size() >= max_clients_) {
        auto oldest = std::min_element(
            buckets_.begin(), buckets_.end(),
            [](const auto& a, const auto& b) { return a.second.updated < b.second.updated; });
        buckets_.erase(oldest);
      }
    }
    it = buckets_.emplace(client, Bucket{burst_, now}).first;
  }
  Refill(it->second, now);
  return it->second;
}

int RateLimiter::Wait(const Bucket& bucket) const {
  if (bucket.tokens >= 1.0) return 0;
  // per_second_ is at least kMinPerMinute / 60, so this is finite; clamped before the cast
  // (a cast of a double out of int's range is undefined behaviour).
  const double wait = std::ceil((1.0 - bucket.tokens) / per_second_);
  return static_cast<int>(std::clamp(wait, 1.0, static_cast<double>(kMaxWaitSeconds)));
}

int RateLimiter::Acquire(const std::string& client, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  Bucket& bucket = Find(client, now);
  const int wait = Wait(bucket);
  if (wait == 0) bucket.tokens -= 1.0;
  return wait;
}

int RateLimiter::Peek(const std::string& client, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto it = buckets_.find(client);
  if (it == buckets_.end()) return 0;
  Refill(it->second, now);
  return Wait(it->second);
}

void RateLimiter::Reconfigure(double per_minute, int burst, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  // Tokens earned so far count at the old rate; from now on the new one applies.
  for (auto& [client, bucket] : buckets_) Refill(bucket, now);
  per_second_ = ClampRate(per_minute) / 60.0;
  burst_ = ClampBurst(burst);
  for (auto& [client, bucket] : buckets_) bucket.tokens = std::min(bucket.tokens, burst_);
}

}  // namespace mtasts::agent
