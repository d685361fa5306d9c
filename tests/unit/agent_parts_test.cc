#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "agent/http_server.h"
#include "agent/rate_limiter.h"
#include "agent/state_file.h"

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
  checked.report = std::make_shared<const DomainReport>(report);
  checked.next_check_ms = 1700000600000;
  checked.posture_changes = 3;
  checked.tracker.committed = webhooks::PostureFromReport(report);
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
  EXPECT_TRUE(state.report->enforced);
  EXPECT_EQ(state.report->sts_record.id, "abc");
  EXPECT_EQ(state.report->policy.policy->max_age, 604800U);
  EXPECT_EQ(state.report->policy.policy->mx, std::vector<std::string>{"mx.example.com"});
  ASSERT_EQ(state.report->issues.size(), 1U);
  EXPECT_EQ(state.report->issues[0].code, IssueCode::kTlsRptMissing);
  EXPECT_EQ(state.report->checked_at_ms, 1700000000123);
  EXPECT_FALSE(loaded.value().at("unchecked.example").report);
  ASSERT_TRUE(state.tracker.committed.has_value());
  EXPECT_EQ(*state.tracker.committed, webhooks::PostureFromReport(report));
  EXPECT_FALSE(std::filesystem::exists(dir / "state.json.tmp"));

  // A corrupt file is reported, not trusted.
  { std::ofstream(dir / "state.json") << "{not json"; }
  EXPECT_FALSE(file.Load().has_value());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace mtasts::agent
