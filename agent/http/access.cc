#include "agent/http/access.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <fstream>
#include <stdexcept>
#include <string_view>

#include "agent/http/connection_gate.h"

namespace mtasts::agent {
namespace {

// Wrong or missing API keys: a burst of 10 per client address, then 10 a minute.
constexpr double kAuthFailuresPerMinute = 10;
constexpr int kAuthFailureBurst = 10;

using Digest = std::array<unsigned char, 32>;

Digest Sha256(std::string_view data) {
  Digest digest{};
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 is not available");
  }
  return digest;
}

/// Whether `key` is one of `keys` (SHA-256 digests), in time independent of where they differ:
/// digests of equal length compared with CRYPTO_memcmp, every one of them, no early exit.
bool KeyMatches(const std::vector<Digest>& keys, std::string_view key) {
  const Digest presented = Sha256(key);
  int matched = 0;
  for (const Digest& stored : keys) {
    matched |= static_cast<int>(CRYPTO_memcmp(presented.data(), stored.data(), stored.size()) == 0);
  }
  return matched != 0;
}

std::string Hex(const Digest& digest, std::size_t octets) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < octets && i < digest.size(); ++i) {
    out += kDigits[digest[i] >> 4];
    out += kDigits[digest[i] & 0xF];
  }
  return out;
}

}  // namespace

Access::Access(const config::ApiSettings& api)
    : headers_(std::make_shared<const std::map<std::string, std::string>>()),
      limiter_(api.rate_limit_per_minute, api.rate_limit_burst),
      auth_failures_(kAuthFailuresPerMinute, kAuthFailureBurst) {
  auto configured = Configure(api);
  if (!configured) throw std::runtime_error(configured.error().message);
}

Result<bool> Access::Configure(const config::ApiSettings& api) {
  auto keys = std::make_shared<Keys>();
  keys->max_live = api.max_concurrent_requests;
  if (!api.keys_file.empty()) {
    std::ifstream in(api.keys_file);
    if (!in) return Error{"api.keys_file \"" + api.keys_file + "\": cannot read it"};
    std::string line;
    while (std::getline(in, line)) {
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
        line.pop_back();
      auto start = line.find_first_not_of(" \t");
      if (start == std::string::npos || line[start] == '#') continue;
      keys->digests.push_back(Sha256(std::string_view(line).substr(start)));
    }
    if (keys->digests.empty()) {
      return Error{"api.keys_file \"" + api.keys_file + "\" holds no key (one per line)"};
    }
  }
  std::lock_guard lock(mutex_);
  keys_ = std::move(keys);
  limiter_.Reconfigure(api.rate_limit_per_minute, api.rate_limit_burst);
  return true;
}

std::shared_ptr<const Access::Keys> Access::Current() {
  std::lock_guard lock(mutex_);
  return keys_;
}

Access::KeyCheck Access::CheckKey(const std::string& remote_addr, const std::string& key) {
  const auto keys = Current();
  // Limits count per client network (README "HTTP endpoints"), and with keys the wrong ones
  // count first: an address out of wrong-key budget gets 429 before its key is looked at, right
  // or wrong (else the answer would tell the right key apart).
  const std::string client = ClientNetwork(remote_addr);
  KeyCheck check;
  if (keys->digests.empty()) {
    check.bucket = "address:" + client;
    return check;
  }
  if (int wait = auth_failures_.Peek(client); wait > 0) {
    check.kind = KeyCheck::Kind::kTooManyWrong;
    check.retry_after = wait;
    return check;
  }
  if (key.empty() || !KeyMatches(keys->digests, key)) {
    (void)auth_failures_.Acquire(client);
    check.kind = key.empty() ? KeyCheck::Kind::kMissing : KeyCheck::Kind::kWrong;
    return check;
  }
  check.bucket = "key:" + Hex(Sha256(key), 16);
  return check;
}

void Access::ConfigureWeb(const config::WebConfig& web) {
  basic_auth_.Configure(web.users);
  auto headers = std::make_shared<const std::map<std::string, std::string>>(web.headers);
  std::lock_guard lock(mutex_);
  headers_ = std::move(headers);
}

std::shared_ptr<const std::map<std::string, std::string>> Access::ExtraHeaders() {
  std::lock_guard lock(mutex_);
  return headers_;
}

Access::KeyCheck Access::CheckUser(const std::string& remote_addr,
                                   const std::string& authorization) {
  KeyCheck check;
  if (!basic_auth_.Enabled()) return check;
  const std::string client = ClientNetwork(remote_addr);
  if (int wait = auth_failures_.Peek(client); wait > 0) {
    check.kind = KeyCheck::Kind::kTooManyWrong;
    check.retry_after = wait;
    return check;
  }
  if (authorization.empty()) {
    check.kind = KeyCheck::Kind::kMissing;
    return check;
  }
  const auto credentials = ParseBasicAuthorization(authorization);
  if (!credentials || !basic_auth_.Verify(credentials->first, credentials->second)) {
    (void)auth_failures_.Acquire(client);
    check.kind = KeyCheck::Kind::kWrong;
  }
  return check;
}

int Access::AcquireRate(const std::string& bucket) {
  return limiter_.Acquire(bucket);
}

std::optional<Access::LiveSlot> Access::TakeLiveSlot() {
  const int max_live = Current()->max_live;
  if (live_checks_.fetch_add(1) >= max_live) {
    live_checks_.fetch_sub(1);
    return std::nullopt;
  }
  return std::optional<LiveSlot>(std::in_place, live_checks_);
}

}  // namespace mtasts::agent
