#include "config/shard.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <set>
#include <string>
#include <vector>

namespace mtasts {
namespace {

std::vector<std::string> Names(int n) {
  std::vector<std::string> names;
  for (int i = 0; i < n; ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "d%05d.scale.test", i);
    names.emplace_back(buf);
  }
  names.emplace_back("example.com");
  names.emplace_back("xn--bcher-kva.example");
  return names;
}

// Golden values from `printf %s NAME | sha256sum | cut -c1-16`: what another implementation
// (or a shell script) must agree with, and what must never change between releases.
TEST(Shard, HashIsTheSha256Prefix) {
  EXPECT_EQ(ShardHash("example.com"), 0xa379a6f6eeafb9a5U);
  EXPECT_EQ(ShardHash("example.org"), 0xbfabc37432958b06U);
  EXPECT_EQ(ShardHash("xn--bcher-kva.example"), 0x970ca6b73eaf2630U);
  EXPECT_EQ(ShardHash("mail.example.net"), 0xe654bdfe666d924eU);
}

TEST(Shard, GoldenAssignments) {
  EXPECT_EQ(ShardOf("example.com", 2), 1);
  EXPECT_EQ(ShardOf("example.com", 3), 1);
  EXPECT_EQ(ShardOf("example.com", 16), 5);
  EXPECT_EQ(ShardOf("example.org", 4), 2);
  EXPECT_EQ(ShardOf("xn--bcher-kva.example", 16), 0);
  EXPECT_EQ(ShardOf("mail.example.net", 16), 14);
  EXPECT_EQ(ShardOf("d00001.scale.test", 4), 3);
  EXPECT_EQ(ShardOf("anything.example", 1), 0);
  EXPECT_TRUE(InShard("example.com", Shard{1, 3}));
  EXPECT_FALSE(InShard("example.com", Shard{0, 3}));
  EXPECT_TRUE(InShard("example.com", Shard{}));  // 0 of 1: the whole list
}

TEST(Shard, SplitsAListCompletelyAndDisjointly) {
  const auto names = Names(5000);
  for (int count : {1, 2, 3, 4, 7, 16}) {
    SCOPED_TRACE(count);
    std::set<std::string> seen;
    std::size_t total = 0;
    for (int index = 0; index < count; ++index) {
      const auto part = FilterShard(names, Shard{index, count});
      total += part.size();
      for (const auto& name : part) {
        EXPECT_TRUE(seen.insert(name).second) << name << " is in two shards";
      }
      // Even enough to be useful: within 25% of an equal share for 5000 names.
      const double share = static_cast<double>(names.size()) / count;
      EXPECT_GT(static_cast<double>(part.size()), share * 0.75);
      EXPECT_LT(static_cast<double>(part.size()), share * 1.25);
    }
    EXPECT_EQ(total, names.size());
    EXPECT_EQ(seen.size(), names.size());
  }
}

TEST(Shard, StableForAFixedCountWhateverTheListAround) {
  const auto names = Names(300);
  const auto whole = FilterShard(names, Shard{1, 4});
  // The same name lands in the same shard whether the list is reordered, cut or grown.
  std::vector<std::string> reversed(names.rbegin(), names.rend());
  std::set<std::string> from_whole(whole.begin(), whole.end());
  const auto part = FilterShard(reversed, Shard{1, 4});
  EXPECT_EQ(std::set<std::string>(part.begin(), part.end()), from_whole);
  const std::vector<std::string> cut(names.begin(), names.begin() + 100);
  for (const auto& name : FilterShard(cut, Shard{1, 4})) EXPECT_EQ(from_whole.count(name), 1U);
  // Order of the input is kept.
  for (std::size_t i = 1; i < whole.size(); ++i) EXPECT_LT(whole[i - 1], whole[i]);
}

TEST(Shard, ParsesIndexSlashCount) {
  EXPECT_EQ(ParseShard("0/1").value(), (Shard{0, 1}));
  EXPECT_EQ(ParseShard("3/4").value(), (Shard{3, 4}));
  EXPECT_EQ(ParseShard("65535/65536").value(), (Shard{65535, 65536}));
  EXPECT_EQ(FormatShard(Shard{2, 5}), "2/5");
}

TEST(Shard, RefusesBadShardsWithTheReason) {
  EXPECT_EQ(ParseShard("4/4").error().message,
            "\"4/4\": the index must be between 0 and 3 (shards are numbered from 0)");
  EXPECT_EQ(ParseShard("0/0").error().message, "\"0/0\": the count must be between 1 and 65536");
  EXPECT_EQ(ParseShard("0/65537").error().message,
            "\"0/65537\": the count must be between 1 and 65536");
  for (const char* text : {"", "1", "1/", "/4", "a/4", "1/4x", "-1/4", "1/-4", " 1/4", "1//4"}) {
    SCOPED_TRACE(text);
    auto parsed = ParseShard(text);
    ASSERT_FALSE(parsed.has_value());
    EXPECT_EQ(parsed.error().message.rfind("\"" + std::string(text) + "\"", 0), 0U);
  }
}

}  // namespace
}  // namespace mtasts
