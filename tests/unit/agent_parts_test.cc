#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <limits>

#include "agent/http/rate_limiter.h"
#include "agent/http/server.h"
#include "agent/state/state_file.h"

namespace mtasts::agent {
namespace {

TEST(RateLimiter, BurstThenRefillAndRetryAfter) {
  RateLimiter limiter(60, 3);  // one token a second, burst 3
  auto t = RateLimiter::Clock::now();
  EXPECT_EQ(limiter.Acquire("a", t), 0);
  EXPECT_EQ(limiter.Acquire("a", t), 0);
  EXPECT_EQ(limiter.Acquire("a", t), 0);
  EXPECT_EQ(limiter.Acquire("a", t), 1);  // empty: retry in a second
  EXPECT_EQ(limiter.Acquire("b", t), 0);  // other clients have their own bucket
  EXPECT_EQ(limiter.Acquire("a", t + std::chrono::milliseconds(1100)), 0);
}

TEST(RateLimiter, BoundedNumberOfClients) {
  RateLimiter limiter(60, 1, 3);
  auto t = RateLimiter::Clock::now();
  for (int i = 0; i < 100; ++i) EXPECT_EQ(limiter.Acquire("c" + std::to_string(i), t), 0);
}

// A rate of 1e-9 a minute once overflowed the cast of the wait to int (undefined behaviour; in
// practice a negative wait, so every request went through).
TEST(RateLimiter, TinyRatesWaitAtMostAnHour) {
  auto t = RateLimiter::Clock::now();
  for (double rate : {1e-9, 1e-300, 0.0, -5.0, -std::numeric_limits<double>::infinity(),
                      std::numeric_limits<double>::quiet_NaN(), 0.01}) {
    SCOPED_TRACE(rate);
    RateLimiter limiter(rate, 2);
    EXPECT_EQ(limiter.Acquire("a", t), 0);
    EXPECT_EQ(limiter.Acquire("a", t), 0);
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(limiter.Acquire("a", t), RateLimiter::kMaxWaitSeconds)
          << "refused, not let through";
    }
    EXPECT_EQ(limiter.Peek("a", t), RateLimiter::kMaxWaitSeconds);
    // The slowest rate is one every 100 minutes: after that long, one more token.
    EXPECT_EQ(limiter.Acquire("a", t + std::chrono::minutes(100) + std::chrono::seconds(1)), 0);
  }
}

TEST(RateLimiter, HugeRatesAndBurstsAreClamped) {
  auto t = RateLimiter::Clock::now();
  RateLimiter limiter(std::numeric_limits<double>::infinity(), std::numeric_limits<int>::max());
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(limiter.Acquire("a", t), 0);
  RateLimiter one(1e300, 1);
  EXPECT_EQ(one.Acquire("a", t), 0);
  EXPECT_EQ(one.Acquire("a", t), 1) << "at least a second, never 0 when refused";
  EXPECT_EQ(one.Acquire("a", t + std::chrono::milliseconds(1)), 0);
  RateLimiter zero_burst(60, 0);
  EXPECT_EQ(zero_burst.Acquire("a", t), 0) << "a burst below 1 is 1";
  EXPECT_EQ(zero_burst.Acquire("a", t), 1);
}

TEST(RateLimiter, PeekTakesNothing) {
  RateLimiter limiter(60, 1);
  auto t = RateLimiter::Clock::now();
  EXPECT_EQ(limiter.Peek("a", t), 0);
  EXPECT_EQ(limiter.Peek("a", t), 0);
  EXPECT_EQ(limiter.Acquire("a", t), 0);
  EXPECT_EQ(limiter.Peek("a", t), 1);
  EXPECT_EQ(limiter.Peek("b", t), 0);
}

TEST(RateLimiter, ReconfigureKeepsEveryBucket) {
  // (Rates whose per-second value is a power of two, so the waits are exact.)
  RateLimiter limiter(60, 3);  // one a second
  auto t = RateLimiter::Clock::now();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.Acquire("empty", t), 0);
  EXPECT_EQ(limiter.Acquire("half", t), 0);
  // Same settings: nothing changes.
  limiter.Reconfigure(60, 3, t);
  EXPECT_EQ(limiter.Acquire("empty", t), 1);
  // A larger burst and a slower rate: the empty bucket stays empty and refills at the new rate.
  limiter.Reconfigure(7.5, 10, t);  // one every 8 s
  EXPECT_EQ(limiter.Acquire("empty", t), 8);
  EXPECT_EQ(limiter.Acquire("empty", t + std::chrono::seconds(4)), 4);
  EXPECT_EQ(limiter.Acquire("empty", t + std::chrono::seconds(8)), 0);
  EXPECT_EQ(limiter.Acquire("half", t), 0) << "two tokens left";
  EXPECT_EQ(limiter.Acquire("half", t), 0);
  EXPECT_EQ(limiter.Acquire("half", t), 8);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(limiter.Acquire("new", t), 0) << "the new burst";
  EXPECT_EQ(limiter.Acquire("new", t), 8);
  EXPECT_EQ(limiter.Acquire("rich", t), 0);  // nine left
  // A smaller burst caps what a bucket holds.
  limiter.Reconfigure(7.5, 1, t);
  EXPECT_EQ(limiter.Acquire("rich", t), 0);
  EXPECT_EQ(limiter.Acquire("rich", t), 8);
  // Tokens earned before a reconfigure count at the old rate.
  RateLimiter fast(60, 5);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(fast.Acquire("a", t), 0);
  fast.Reconfigure(0.9375, 5, t + std::chrono::seconds(2));  // one every 64 s from now on
  EXPECT_EQ(fast.Acquire("a", t + std::chrono::seconds(2)), 0);
  EXPECT_EQ(fast.Acquire("a", t + std::chrono::seconds(2)), 0);
  EXPECT_EQ(fast.Acquire("a", t + std::chrono::seconds(2)), 64);
}

TEST(ListenAddress, Forms) {
  EXPECT_EQ(ParseListenAddress(":10056").value(), std::make_pair(std::string("0.0.0.0"), 10056));
  EXPECT_EQ(ParseListenAddress("127.0.0.1:9").value(), std::make_pair(std::string("127.0.0.1"), 9));
  EXPECT_EQ(ParseListenAddress("[::1]:80").value(), std::make_pair(std::string("::1"), 80));
  EXPECT_FALSE(ParseListenAddress("10056").has_value());
  EXPECT_FALSE(ParseListenAddress(":http").has_value());
  EXPECT_FALSE(ParseListenAddress(":70000").has_value());
}

TEST(StateFile, RoundTripsReportsAndPlans) {
  auto dir = std::filesystem::temp_directory_path() / ("mtasts-state-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  StateFile file(dir.string());
  EXPECT_TRUE(file.Load().value().empty()) << "no file yet is an empty state";

  DomainReport report;
  report.domain = "example.com";
  report.enforced = true;
  report.sts_record = {true, true, "v=STSv1; id=abc;", "abc", {"v=STSv1; id=abc;"}};
  report.policy.found = report.policy.valid = true;
  report.policy.url = "https://mta-sts.example.com/.well-known/mta-sts.txt";
  report.policy.policy =
      policy::Policy{"STSv1", policy::Mode::kEnforce, 604800, {"mx.example.com"}, {}};
  report.AddIssue(IssueCode::kTlsRptMissing, "no TLS-RPT");
  report.checked_at_ms = 1700000000123;
  Snapshot snapshot;
  DomainState checked;
  checked.report = PackedReport(report);
  checked.next_check_ms = 1700000600000;
  checked.posture_changes = 3;
  webhooks::TrackerState tracker;
  tracker.committed = webhooks::PostureFromReport(report);
  checked.tracker = Packed<webhooks::TrackerState>(tracker);
  snapshot.domains["example.com"] = checked;
  snapshot.domains["unchecked.example"] = {};
  ASSERT_TRUE(file.Save(snapshot).has_value());

  auto loaded = file.Load();
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  ASSERT_EQ(loaded.value().size(), 2U);
  const DomainState& state = loaded.value().at("example.com");
  EXPECT_EQ(state.next_check_ms, 1700000600000);
  EXPECT_EQ(state.posture_changes, 3U);
  ASSERT_TRUE(state.report);
  const DomainReport restored = state.report.Unpack();
  EXPECT_TRUE(restored.enforced);
  EXPECT_EQ(restored.sts_record.id, "abc");
  EXPECT_EQ(restored.policy.policy->max_age, 604800U);
  EXPECT_EQ(restored.policy.policy->mx, std::vector<std::string>{"mx.example.com"});
  ASSERT_EQ(restored.issues.size(), 1U);
  EXPECT_EQ(restored.issues[0].code, IssueCode::kTlsRptMissing);
  EXPECT_EQ(restored.checked_at_ms, 1700000000123);
  EXPECT_FALSE(loaded.value().at("unchecked.example").report);
  const webhooks::TrackerState restored_tracker = state.tracker.Unpack();
  ASSERT_TRUE(restored_tracker.committed.has_value());
  EXPECT_EQ(*restored_tracker.committed, webhooks::PostureFromReport(report));
  EXPECT_FALSE(std::filesystem::exists(dir / "state.json.tmp"));

  // A corrupt file is reported, not trusted.
  { std::ofstream(dir / "state.json") << "{not json"; }
  EXPECT_FALSE(file.Load().has_value());
  std::filesystem::remove_all(dir);
}

/// state.json is read as it streams (one domain's tree at a time): the same file, whatever the
/// order of its top-level keys, loads the same; what is not a whole state file is refused whole.
class StateFileReading : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() / ("mtasts-state-read-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  Result<std::map<std::string, DomainState>> LoadText(const std::string& text) {
    { std::ofstream(dir_ / "state.json") << text; }
    return StateFile(dir_.string()).Load();
  }
  std::filesystem::path dir_;
};

TEST_F(StateFileReading, KeysInAnyOrderAndUnknownOnesAroundTheDomains) {
  auto loaded = LoadText(
      R"({"extra":{"x":[1,{"y":[2,3]}],"z":null},"domains":{"a.example":{"next_check_ms":5,)"
      R"("later":{"k":[{"deep":[[]]}]}},"b.example":{"posture_changes":7}},"more":[{}],"version":1})");
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  ASSERT_EQ(loaded.value().size(), 2U);
  EXPECT_EQ(loaded.value().at("a.example").next_check_ms, 5);
  EXPECT_EQ(loaded.value().at("b.example").posture_changes, 7U);
  EXPECT_FALSE(loaded.value().at("a.example").report);
}

TEST_F(StateFileReading, ALaterEntryForTheSameDomainWins) {
  auto loaded = LoadText(
      R"({"version":1,"domains":{"a.example":{"next_check_ms":5},"a.example":{"next_check_ms":9}}})");
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  EXPECT_EQ(loaded.value().at("a.example").next_check_ms, 9);
}

TEST_F(StateFileReading, WhatIsNotAWholeStateFileIsRefusedWhole) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"version":1,"domains":{"a.example":{"next_check_ms":5}})", "not valid JSON"},
      {R"({"version":1,"domains":{"a.example":{"next_check_ms":5}}} trailing)", "not valid JSON"},
      {R"([{"version":1,"domains":{}}])", "not valid JSON"},
      {R"("state")", "not valid JSON"},
      {"", "not valid JSON"},
      {R"({"version":2,"domains":{"a.example":{}}})", "unknown state format version"},
      {R"({"domains":{"a.example":{}}})", "unknown state format version"},
      {R"({"version":4294967297,"domains":{"a.example":{}}})", "unknown state format version"},
      {R"({"version":-4294967295,"domains":{"a.example":{}}})", "unknown state format version"},
      {R"({"version":"1","domains":{"a.example":{}}})", "unknown state format version"},
      {R"({"version":1})", "no \"domains\""},
      {R"({"version":1,"domains":{"a.example":{"next_check_ms":1,"next_check_ms":2}}})",
       "duplicate key \"next_check_ms\""},
      {R"({"version":1,"domains":{"a.example":{"x":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}}})",
       "nested deeper than 32"},
      {R"({"version":1,"domains":{"a.example":[1]}})", "state.json"},
      {R"({"version":1,"domains":{"a.example":5}})", "state.json"},
      {R"({"version":1,"domains":{"a.example":{"next_check_ms":"soon"}}})", "state.json"},
      {R"({"version":1,"domains":{"a.example":{"report":{"domain":5}}}})", "a.example"},
  };
  for (const auto& [text, why] : cases) {
    auto loaded = LoadText(text);
    ASSERT_FALSE(loaded.has_value()) << text;
    EXPECT_NE(loaded.error().message.find(why), std::string::npos)
        << text << " -> " << loaded.error().message;
  }
}

TEST_F(StateFileReading, ManyDomainsRoundTrip) {
  Snapshot snapshot;
  for (int i = 0; i < 500; ++i) {
    DomainReport report;
    report.domain = "d" + std::to_string(i) + ".example";
    report.enforced = i % 2 == 0;
    report.mx.hosts = {"mx1." + report.domain, "mx2." + report.domain};
    report.AddIssue(IssueCode::kTlsRptMissing, "no TLS-RPT for " + report.domain);
    report.checked_at_ms = 1700000000000 + i;
    DomainState state;
    state.report = PackedReport(report);
    state.next_check_ms = 1700000600000 + i;
    snapshot.domains[report.domain] = state;
  }
  StateFile file(dir_.string());
  ASSERT_TRUE(file.Save(snapshot).has_value());
  auto loaded = file.Load();
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  ASSERT_EQ(loaded.value().size(), 500U);
  for (int i : {0, 1, 250, 499}) {
    const std::string name = "d" + std::to_string(i) + ".example";
    const DomainState& state = loaded.value().at(name);
    EXPECT_EQ(state.next_check_ms, 1700000600000 + i);
    const DomainReport restored = state.report.Unpack();
    EXPECT_EQ(restored.domain, name);
    EXPECT_EQ(restored.enforced, i % 2 == 0);
    EXPECT_EQ(restored.mx.hosts, (std::vector<std::string>{"mx1." + name, "mx2." + name}));
    ASSERT_EQ(restored.issues.size(), 1U);
    EXPECT_EQ(restored.issues[0].message, "no TLS-RPT for " + name);
    EXPECT_EQ(restored.checked_at_ms, 1700000000000 + i);
  }
}

}  // namespace
}  // namespace mtasts::agent
