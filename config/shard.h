#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace mtasts {

/// One slice of a domain list: instance `index` of `count` (0 <= index < count). The default,
/// 0 of 1, is the whole list.
struct Shard {
  int index = 0;
  int count = 1;

  bool operator==(const Shard&) const = default;
};

/// The most shards a list can be split into.
constexpr int kMaxShards = 65536;

/// The stable hash of a domain for sharding: the first 8 octets of SHA-256 over the A-label form
/// (lower-case, no trailing dot, as NormalizeDomain returns it), read as a big-endian unsigned
/// 64-bit integer. Independent of the platform, the compiler and the standard library, so N
/// instances on different machines agree; in a shell:
///   printf %s example.com | sha256sum | cut -c1-16   # then that hex number modulo N
std::uint64_t ShardHash(std::string_view a_label);

/// The shard (0 .. count-1) that watches `a_label`: ShardHash(a_label) modulo count.
int ShardOf(std::string_view a_label, int count);

/// True when `shard` watches `a_label`.
bool InShard(std::string_view a_label, const Shard& shard);

/// Parses "K/N" (e.g. "0/4") as given to --shard: whole numbers, 1 <= N <= kMaxShards,
/// 0 <= K < N. Errors quote the text and say which part is wrong.
Result<Shard> ParseShard(std::string_view text);

/// The names of `names` that `shard` watches, in their original order.
std::vector<std::string> FilterShard(const std::vector<std::string>& names, const Shard& shard);

/// "K/N", as logs and messages show it.
std::string FormatShard(const Shard& shard);

}  // namespace mtasts
