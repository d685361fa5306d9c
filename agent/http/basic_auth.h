#pragma once

#include <crypt.h>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>

namespace mtasts::agent {

/// The user and password of an `Authorization: Basic …` header (RFC 7617); nullopt when the
/// header is not one (another scheme, bad base64, no ':').
std::optional<std::pair<std::string, std::string>> ParseBasicAuthorization(std::string_view value);

/// basic_auth_users of the web configuration (README "Web configuration"), checked as the
/// exporter-toolkit checks them: bcrypt by libxcrypt's crypt_r, one at a time (each costs tens
/// of milliseconds of CPU on purpose, so a flood of guesses holds one core, never all), the
/// result compared in constant time, an unknown user costing a bcrypt run like a known one (no
/// telling users apart by timing), and successes remembered (a scraper's every request is not
/// a bcrypt run). Remembered by a SHA-256 of user, stored hash and password, so a reload that
/// changes a hash forgets it. Thread-safe.
class BasicAuth {
 public:
  BasicAuth();
  ~BasicAuth();
  BasicAuth(const BasicAuth&) = delete;
  BasicAuth& operator=(const BasicAuth&) = delete;

  /// Replaces the users (name -> bcrypt hash; the config has checked the hashes' form).
  void Configure(const std::map<std::string, std::string>& users);
  /// Whether any user is configured (then every request needs one).
  bool Enabled();
  /// Whether `password` is `user`'s.
  bool Verify(const std::string& user, const std::string& password);

 private:
  struct Users {
    std::map<std::string, std::string> hashes;
    std::string dummy;  // a bcrypt setting as costly as the dearest hash, for unknown users
  };
  std::shared_ptr<const Users> Current();
  bool Remembered(const std::string& key);
  void Remember(const std::string& key);

  std::mutex mutex_;
  std::shared_ptr<const Users> users_;   // guarded by mutex_
  std::mutex bcrypt_mutex_;              // one bcrypt run at a time
  std::unique_ptr<crypt_data> scratch_;  // crypt_r's 32 KiB work area; guarded by bcrypt_mutex_
  std::mutex cache_mutex_;
  std::unordered_set<std::string> verified_;  // guarded by cache_mutex_
};

}  // namespace mtasts::agent
