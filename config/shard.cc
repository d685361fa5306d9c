#include "config/shard.h"

#include <openssl/evp.h>

#include <array>
#include <charconv>
#include <stdexcept>

namespace mtasts {

std::uint64_t ShardHash(std::string_view a_label) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (EVP_Digest(a_label.data(), a_label.size(), digest.data(), &length, EVP_sha256(), nullptr) !=
          1 ||
      length < 8) {
    throw std::runtime_error("SHA-256 is unavailable in this OpenSSL");  // cannot happen
  }
  std::uint64_t hash = 0;
  for (std::size_t i = 0; i < 8; ++i) hash = (hash << 8) | digest[i];
  return hash;
}

int ShardOf(std::string_view a_label, int count) {
  if (count <= 1) return 0;
  return static_cast<int>(ShardHash(a_label) % static_cast<std::uint64_t>(count));
}

bool InShard(std::string_view a_label, const Shard& shard) {
  return shard.count <= 1 || ShardOf(a_label, shard.count) == shard.index;
}

Result<Shard> ParseShard(std::string_view text) {
  const std::string quoted = "\"" + std::string(text.substr(0, 40)) + "\"";
  auto number = [](std::string_view part, int& out) {
    const char* end = part.data() + part.size();
    auto [ptr, ec] = std::from_chars(part.data(), end, out, 10);
    return !part.empty() && ec == std::errc() && ptr == end;
  };
  const auto slash = text.find('/');
  Shard shard;
  if (slash == std::string_view::npos || !number(text.substr(0, slash), shard.index) ||
      !number(text.substr(slash + 1), shard.count)) {
    return Error{quoted + " is not a shard: expected INDEX/COUNT, e.g. 0/4"};
  }
  if (shard.count < 1 || shard.count > kMaxShards) {
    return Error{quoted + ": the count must be between 1 and " + std::to_string(kMaxShards)};
  }
  if (shard.index < 0 || shard.index >= shard.count) {
    return Error{quoted + ": the index must be between 0 and " + std::to_string(shard.count - 1) +
                 " (shards are numbered from 0)"};
  }
  return shard;
}

std::vector<std::string> FilterShard(const std::vector<std::string>& names, const Shard& shard) {
  std::vector<std::string> out;
  for (const auto& name : names) {
    if (InShard(name, shard)) out.push_back(name);
  }
  return out;
}

std::string FormatShard(const Shard& shard) {
  return std::to_string(shard.index) + "/" + std::to_string(shard.count);
}

}  // namespace mtasts
