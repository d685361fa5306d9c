#include "base/duration.h"

#include <gtest/gtest.h>

namespace mtasts {
namespace {

using std::chrono::milliseconds;

TEST(Duration, ParsesPrometheusStyle) {
  struct Case {
    const char* text;
    long long millis;
  } cases[] = {{"0", 0},           {"90s", 90000},      {"5m", 300000}, {"1h", 3600000},
               {"7d", 604800000},  {"1h30m", 5400000},  {"500ms", 500}, {"1s500ms", 1500},
               {"2w", 1209600000}, {"1y", 31536000000}, {"0s", 0}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    auto parsed = ParseDuration(c.text);
    ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
    EXPECT_EQ(parsed.value(), milliseconds(c.millis));
  }
}

TEST(Duration, RefusesMalformedWithTheValueInTheMessage) {
  for (const char* text : {"", "10", "s", "1x", "5m1h", "1s1s", "-5s", "1.5h", " 5s", "5s ",
                           "99999999999999999999s"}) {
    SCOPED_TRACE(text);
    auto parsed = ParseDuration(text);
    ASSERT_FALSE(parsed.has_value());
    if (*text != 0) {
      EXPECT_NE(parsed.error().message.find(text), std::string::npos);
    }
  }
}

TEST(Duration, FormatsShortest) {
  EXPECT_EQ(FormatDuration(milliseconds(5400000)), "1h30m");
  EXPECT_EQ(FormatDuration(milliseconds(500)), "500ms");
  EXPECT_EQ(FormatDuration(milliseconds(0)), "0s");
  EXPECT_EQ(FormatDuration(milliseconds(604800000)), "1w");
}

}  // namespace
}  // namespace mtasts
