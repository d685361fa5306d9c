#include "agent/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace mtasts::agent {

RateLimiter::RateLimiter(double per_minute, int burst, std::size_t max_clients)
    : per_second_(per_minute / 60.0), burst_(std::max(1, burst)), max_clients_(max_clients) {}

void RateLimiter::Refill(Bucket& bucket, Clock::time_point now) const {
  const double elapsed = std::chrono::duration<double>(now - bucket.updated).count();
  if (elapsed > 0) {
    bucket.tokens = std::min(burst_, bucket.tokens + elapsed * per_second_);
    bucket.updated = now;
  }
}

int RateLimiter::Acquire(const std::string& client, Clock::time_point now) {
  std::lock_guard lock(mutex_);
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
  Bucket& bucket = it->second;
  Refill(bucket, now);
  if (bucket.tokens >= 1.0) {
    bucket.tokens -= 1.0;
    return 0;
  }
  const double wait = (1.0 - bucket.tokens) / per_second_;
  return static_cast<int>(std::max(1.0, std::ceil(wait)));
}

}  // namespace mtasts::agent
