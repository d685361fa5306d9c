#include "agent/domain_map.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mtasts::agent {
namespace {

using Map = SharedEntryMap<std::string>;

TEST(SharedEntryMapTest, KeepsNamesSortedAndFindsThem) {
  Map map;
  map["c.example"] = "c";
  map["a.example"] = "a";
  map["b.example"] = "b";
  std::vector<std::string> names;
  for (const auto& [name, state] : map) names.push_back(name + "=" + state);
  EXPECT_EQ(names, (std::vector<std::string>{"a.example=a", "b.example=b", "c.example=c"}));
  EXPECT_TRUE(map.contains("b.example"));
  EXPECT_FALSE(map.contains("d.example"));
  EXPECT_EQ(map.find("d.example"), map.end());
  EXPECT_EQ(map.at("a.example"), "a");
  EXPECT_THROW((void)map.at("d.example"), std::out_of_range);
  EXPECT_EQ(map.Mutable("d.example"), nullptr);
  EXPECT_TRUE(map.erase("b.example"));
  EXPECT_FALSE(map.erase("b.example"));
  EXPECT_EQ(map.size(), 2U);
}

TEST(SharedEntryMapTest, ACopySharesEntriesUntilOneSideChangesOne) {
  Map map;
  map["a.example"] = "a";
  map["b.example"] = "b";
  const Map copy = map;
  // Shared: the very same state objects, not equal copies.
  EXPECT_EQ(&copy.at("a.example"), &map.at("a.example"));
  EXPECT_EQ(&copy.at("b.example"), &map.at("b.example"));

  *map.Mutable("a.example") = "changed";
  EXPECT_EQ(map.at("a.example"), "changed");
  EXPECT_EQ(copy.at("a.example"), "a") << "a change through one map is never seen in a copy";
  EXPECT_NE(&copy.at("a.example"), &map.at("a.example"));
  EXPECT_EQ(&copy.at("b.example"), &map.at("b.example")) << "the unchanged entry stays shared";

  map["a.example"] = "again";  // owned alone now: changed in place
  const std::string* before = &map.at("a.example");
  map["a.example"] = "and again";
  EXPECT_EQ(before, &map.at("a.example"));
}

TEST(SharedEntryMapTest, RetainKeepsSharedEntriesAddsNewOnesDropsTheRest) {
  Map map;
  map["a.example"] = "a";
  map["b.example"] = "b";
  const Map copy = map;
  map.Retain({"c.example", "a.example", "c.example"});
  ASSERT_EQ(map.size(), 2U);
  EXPECT_EQ(&map.at("a.example"), &copy.at("a.example")) << "kept, not copied";
  EXPECT_EQ(map.at("c.example"), "");
  EXPECT_FALSE(map.contains("b.example"));
  EXPECT_EQ(copy.size(), 2U);
  EXPECT_TRUE(copy.contains("b.example"));
}

TEST(SharedEntryMapTest, BuildsFromAStdMap) {
  const Map map(std::map<std::string, std::string>{{"b.example", "b"}, {"a.example", "a"}});
  ASSERT_EQ(map.size(), 2U);
  EXPECT_EQ(map.begin()->name, "a.example");
  EXPECT_EQ(map.at("b.example"), "b");
}

}  // namespace
}  // namespace mtasts::agent
