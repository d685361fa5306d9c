#pragma once

#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "agent/http/basic_auth.h"
#include "agent/http/rate_limiter.h"
#include "base/result.h"
#include "config/config.h"
#include "config/web_config.h"

namespace mtasts::agent {

/// Who may ask what of the listener (README "HTTP endpoints"): optional API keys (`x-api-key`,
/// compared in constant time), a budget of wrong keys per client address that is checked before
/// any key is, token buckets per key (or per client address without keys), and the cap on live
/// checks in flight. Keys and the cap are swapped whole on reload; the buckets survive it.
/// Thread-safe.
class Access {
 public:
  /// Reads api.keys_file; throws std::runtime_error when it cannot (a fatal start-up error).
  explicit Access(const config::ApiSettings& api);

  /// Replaces keys, the live-check cap and the rate (config reload). Keys: one per line, '#'
  /// comments. A bad keys file changes nothing.
  Result<bool> Configure(const config::ApiSettings& api);

  /// What a request's key amounts to, for the client at `remote_addr`.
  struct KeyCheck {
    enum class Kind {
      kAdmitted,      // a right key, or none needed
      kTooManyWrong,  // the address is out of wrong-key budget: not looked at, right or wrong
      kMissing,
      kWrong,
    };
    Kind kind = Kind::kAdmitted;
    int retry_after = 0;  // kTooManyWrong: seconds
    std::string bucket;   // kAdmitted: the rate-limit bucket ("key:…" or "address:…")
  };
  /// A missing or wrong key spends one of the address's wrong-key budget.
  KeyCheck CheckKey(const std::string& remote_addr, const std::string& key);

  /// basic_auth_users and the extra headers of the web configuration (README "Web
  /// configuration"; config reload).
  void ConfigureWeb(const config::WebConfig& web);
  /// Whether every request must name a user (basic_auth_users is not empty).
  bool UsersRequired() { return basic_auth_.Enabled(); }
  /// What a request's `Authorization` header amounts to under basic_auth_users, for the client
  /// at `remote_addr`: a wrong user or password spends the same wrong-key budget as a wrong API
  /// key, and an address out of it is not looked at (so no password is guessed through either).
  /// A request without credentials spends nothing: a browser asks first, then sends them.
  KeyCheck CheckUser(const std::string& remote_addr, const std::string& authorization);
  /// http_server_config.headers: what every answer carries.
  std::shared_ptr<const std::map<std::string, std::string>> ExtraHeaders();

  /// Takes a token from `bucket`: 0 when allowed, else the whole seconds to wait.
  int AcquireRate(const std::string& bucket);

  /// A live check's place among those in flight; released when destroyed.
  class LiveSlot {
   public:
    explicit LiveSlot(std::atomic<int>& count) : count_(&count) {}
    ~LiveSlot() {
      if (count_ != nullptr) count_->fetch_sub(1);
    }
    LiveSlot(LiveSlot&& other) noexcept : count_(std::exchange(other.count_, nullptr)) {}
    LiveSlot& operator=(LiveSlot&&) = delete;
    LiveSlot(const LiveSlot&) = delete;
    LiveSlot& operator=(const LiveSlot&) = delete;

   private:
    std::atomic<int>* count_;
  };
  /// A place for one more live check, or nullopt beyond api.max_concurrent_requests.
  std::optional<LiveSlot> TakeLiveSlot();

 private:
  using Digest = std::array<unsigned char, 32>;
  struct Keys {
    std::vector<Digest> digests;  // SHA-256 of each key; empty: no key required
    int max_live = 16;
  };
  std::shared_ptr<const Keys> Current();

  std::mutex mutex_;
  std::shared_ptr<const Keys> keys_;                                   // guarded by mutex_
  std::shared_ptr<const std::map<std::string, std::string>> headers_;  // guarded by mutex_
  BasicAuth basic_auth_;
  RateLimiter limiter_;        // per key, or per client address without keys
  RateLimiter auth_failures_;  // wrong or missing keys per client address
  std::atomic<int> live_checks_{0};
};

}  // namespace mtasts::agent
