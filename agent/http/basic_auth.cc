#include "agent/http/basic_auth.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <stdexcept>

#include "base/base64.h"
#include "base/sha256.h"

namespace mtasts::agent {
namespace {

/// Successes remembered at most; all are forgotten when full (a scraper's next request then
/// costs one bcrypt run again).
constexpr std::size_t kMaxRemembered = 1024;
/// A bcrypt salt for the run an unknown user costs; any fixed one does (the result is unused).
constexpr std::string_view kDummySalt = "QOauhQNbBCuQDKes6eFzPe";

}  // namespace

std::optional<std::pair<std::string, std::string>> ParseBasicAuthorization(std::string_view value) {
  // The scheme is case-insensitive (RFC 7617 §2, RFC 7235 §2.1).
  constexpr std::string_view kScheme = "basic ";
  if (value.size() <= kScheme.size()) return std::nullopt;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(value[i])) != kScheme[i]) return std::nullopt;
  }
  value.remove_prefix(kScheme.size());
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  auto decoded = Unbase64(value);
  if (!decoded) return std::nullopt;
  const auto colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  return std::make_pair(decoded->substr(0, colon), decoded->substr(colon + 1));
}

BasicAuth::BasicAuth()
    : users_(std::make_shared<const Users>()), scratch_(std::make_unique<crypt_data>()) {}

BasicAuth::~BasicAuth() = default;

void BasicAuth::Configure(const std::map<std::string, std::string>& users) {
  auto next = std::make_shared<Users>();
  next->hashes = users;
  // The dummy costs what the dearest hash costs ("$2b$NN$…": the cost is at [4, 6)).
  std::string cost = "10";
  for (const auto& [name, hash] : users) {
    if (hash.size() > 6 && hash.substr(4, 2) > cost) cost = hash.substr(4, 2);
  }
  next->dummy = "$2b$" + cost + "$" + std::string(kDummySalt);
  {
    std::lock_guard lock(mutex_);
    users_ = std::move(next);
  }
  std::lock_guard lock(cache_mutex_);
  verified_.clear();
}

std::shared_ptr<const BasicAuth::Users> BasicAuth::Current() {
  std::lock_guard lock(mutex_);
  return users_;
}

bool BasicAuth::Enabled() {
  return !Current()->hashes.empty();
}

bool BasicAuth::Remembered(const std::string& key) {
  std::lock_guard lock(cache_mutex_);
  return verified_.count(key) != 0;
}

void BasicAuth::Remember(const std::string& key) {
  std::lock_guard lock(cache_mutex_);
  if (verified_.size() >= kMaxRemembered) verified_.clear();
  verified_.insert(key);
}

bool BasicAuth::Verify(const std::string& user, const std::string& password) {
  const auto users = Current();
  const auto it = users->hashes.find(user);
  const bool known = it != users->hashes.end();
  const std::string& hash = known ? it->second : users->dummy;
  // A NUL would end the password early for crypt_r: no such password can be right.
  const bool usable = password.find('\0') == std::string::npos;
  const std::string key = Sha256Hex(Sha256Hex(user) + Sha256Hex(hash) + Sha256Hex(password));
  if (known && usable && Remembered(key)) return true;
  bool matched = false;
  {
    std::lock_guard lock(bcrypt_mutex_);
    std::memset(scratch_.get(), 0, sizeof(crypt_data));
    const char* out = crypt_r(usable ? password.c_str() : "", hash.c_str(), scratch_.get());
    matched = out != nullptr && out[0] != '*' && std::strlen(out) == hash.size() &&
              CRYPTO_memcmp(out, hash.data(), hash.size()) == 0;
  }
  if (!known || !usable || !matched) return false;
  Remember(key);
  return true;
}

}  // namespace mtasts::agent
