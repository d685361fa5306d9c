// The history-aware judgement (collectors/history/history.h) and the `history` check that runs
// it: every transition, with an injected clock; and the memory in the state file.
#include "collectors/history/history.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "agent/metrics.h"
#include "agent/report_json.h"
#include "agent/state/history_json.h"
#include "agent/state/state_file.h"
#include "agent/webhooks/posture.h"
#include "collectors/check/checks.h"
#include "collectors/check/registry.h"

namespace mtasts::agent {
namespace {

using history::HistoryIssues;
using history::HistorySummary;
using history::JudgeHistory;
using history::NextHistoryExpiry;
using history::PolicyDigest;
using history::PolicyHistory;

constexpr std::int64_t kT0 = 1767225600000;  // 2026-01-01T00:00:00Z
constexpr std::int64_t kHour = 3600 * 1000;
constexpr std::int64_t kWeek = 7 * 24 * kHour;

policy::Policy MakePolicy(policy::Mode mode, std::uint32_t max_age = 604800,
                          std::vector<std::string> mx = {"mx1.example.com"}) {
  return policy::Policy{"STSv1", mode, max_age, std::move(mx), {}};
}

// A complete check that saw TXT id `id` and `policy` (or no valid policy).
DomainReport Seen(const std::string& id, std::optional<policy::Policy> policy, std::int64_t at_ms) {
  DomainReport report;
  report.domain = "example.com";
  report.sts_record = {true, true, "v=STSv1; id=" + id + ";", id, {"v=STSv1; id=" + id + ";"}};
  report.policy.url = "https://mta-sts.example.com/.well-known/mta-sts.txt";
  if (policy) {
    report.policy.found = report.policy.valid = true;
    report.policy.policy = std::move(policy);
  } else {
    report.AddIssue(IssueCode::kPolicyMissing, "404");
  }
  report.checked_at_ms = at_ms;
  return report;
}

std::set<IssueCode> Codes(const std::vector<Issue>& issues) {
  std::set<IssueCode> out;
  for (const auto& issue : issues) out.insert(issue.code);
  return out;
}

// Feeds checks one after the other, as the daemon does.
struct Tracker {
  PolicyHistory history;
  std::set<IssueCode> Check(const DomainReport& report, std::int64_t now_ms) {
    auto judged = JudgeHistory(history, report, now_ms);
    history = judged.after;
    return Codes(judged.issues);
  }
};

// The `history` check as the registry runs it (last), then the report finished: what the
// daemon's check does with `before`, the domain's memory. Returns the memory after.
PolicyHistory JudgeInto(const PolicyHistory& before, DomainReport& report, std::int64_t at_ms) {
  PolicyHistory memory = before;
  check::HistoryCheck().Judge(check::Observations{},
                              check::JudgeContext{.now_ms = at_ms, .memory = &memory}, report);
  FinishReport(report);
  return memory;
}

const std::set<IssueCode> kNone;
const policy::Policy kEnforce = MakePolicy(policy::Mode::kEnforce);

TEST(History, FirstSightIsABaseline) {
  Tracker t;
  EXPECT_EQ(t.Check(Seen("a1", kEnforce, kT0), kT0), kNone);
  EXPECT_TRUE(t.history.Known());
  EXPECT_EQ(t.history.id, "a1");
  EXPECT_EQ(t.history.first_seen_ms, kT0);
  EXPECT_EQ(t.history.id_digest, t.history.digest);
  EXPECT_EQ(t.history.previous_id, "");
  EXPECT_EQ(t.history.mode, "enforce");
  EXPECT_EQ(t.history.max_age, 604800U);
}

TEST(History, SameIdSamePolicyChangesNothingButTheAge) {
  Tracker t;
  t.Check(Seen("a1", kEnforce, kT0), kT0);
  const PolicyHistory first = t.history;
  EXPECT_EQ(t.Check(Seen("a1", kEnforce, kT0 + kHour), kT0 + kHour), kNone);
  EXPECT_EQ(t.history, first) << "the first-seen time stays: the policy's age grows";
}

TEST(History, TheDigestIsTheContentNotTheBytes) {
  // Field order, CRLF, repeated mx lines, mx case and unknown fields do not change what
  // senders do; version, mode, max_age and the set of mx patterns do.
  auto a = policy::ParsePolicy(
      "version: STSv1\nmode: enforce\nmx: a.example\nmx: b.example\n"
      "max_age: 86400\n");
  auto b = policy::ParsePolicy(
      "mx: B.example\r\nmax_age: 86400\r\nmx: a.example\r\n"
      "mx: a.example\r\nfoo: bar\r\nmode: enforce\r\nversion: STSv1\r\n");
  ASSERT_TRUE(a.has_value() && b.has_value());
  EXPECT_EQ(PolicyDigest(a.value()), PolicyDigest(b.value()));
  const std::string base = PolicyDigest(MakePolicy(policy::Mode::kEnforce));
  EXPECT_NE(base, PolicyDigest(MakePolicy(policy::Mode::kTesting)));
  EXPECT_NE(base, PolicyDigest(MakePolicy(policy::Mode::kEnforce, 86400)));
  EXPECT_NE(base, PolicyDigest(MakePolicy(policy::Mode::kEnforce, 604800,
                                          {"mx1.example.com", "mx2.example.com"})));
  EXPECT_EQ(base.size(), 64U);
}

TEST(History, SameIdChangedPolicyIsFlaggedUntilTheIdChanges) {
  Tracker t;
  t.Check(Seen("a1", kEnforce, kT0), kT0);
  const auto more_mx = MakePolicy(policy::Mode::kEnforce, 604800, {"mx1.example.com", "mx2.x"});
  EXPECT_EQ(t.Check(Seen("a1", more_mx, kT0 + kHour), kT0 + kHour),
            std::set{IssueCode::kPolicyChangedWithoutIdChange});
  EXPECT_EQ(t.history.first_seen_ms, kT0 + kHour) << "a new policy: its age starts again";
  // It stays: senders with the cached policy still do not refetch, however long we wait.
  EXPECT_EQ(t.Check(Seen("a1", more_mx, kT0 + 4 * kWeek), kT0 + 4 * kWeek),
            std::set{IssueCode::kPolicyChangedWithoutIdChange});
  EXPECT_EQ(NextHistoryExpiry(t.history, kT0 + 4 * kWeek), std::nullopt);
  // A new id fixes it; that bump is not needless (senders held the old policy under a1).
  EXPECT_EQ(t.Check(Seen("a2", more_mx, kT0 + 5 * kWeek), kT0 + 5 * kWeek), kNone);
  EXPECT_EQ(t.history.previous_id, "a1");
  EXPECT_EQ(t.history.first_seen_ms, kT0 + kHour) << "the content did not change with the id";
}

TEST(History, SameIdPolicyChangedBackClearsTheFlag) {
  Tracker t;
  t.Check(Seen("a1", kEnforce, kT0), kT0);
  EXPECT_EQ(
      t.Check(Seen("a1", MakePolicy(policy::Mode::kEnforce, 86400), kT0 + kHour), kT0 + kHour),
      std::set{IssueCode::kPolicyChangedWithoutIdChange});
  EXPECT_EQ(t.Check(Seen("a1", kEnforce, kT0 + 2 * kHour), kT0 + 2 * kHour), kNone);
  EXPECT_EQ(t.history.previous_id, "");
}

TEST(History, ChangedIdSamePolicyIsANeedlessBumpForOneMaxAge) {
  Tracker t;
  const auto day = MakePolicy(policy::Mode::kEnforce, 86400);
  t.Check(Seen("a1", day, kT0), kT0);
  EXPECT_EQ(t.Check(Seen("a2", day, kT0 + kHour), kT0 + kHour),
            std::set{IssueCode::kPolicyIdChangedWithoutChange});
  EXPECT_EQ(t.history.previous_id, "a1");
  EXPECT_EQ(t.history.first_seen_ms, kT0) << "same content: same age";
  EXPECT_EQ(NextHistoryExpiry(t.history, kT0 + kHour), kT0 + kHour + 24 * kHour);
  // Still within max_age, then past it.
  EXPECT_EQ(Codes(HistoryIssues(t.history, kT0 + 24 * kHour)),
            std::set{IssueCode::kPolicyIdChangedWithoutChange});
  EXPECT_EQ(t.Check(Seen("a2", day, kT0 + 25 * kHour), kT0 + 25 * kHour), kNone);
  EXPECT_EQ(NextHistoryExpiry(t.history, kT0 + 25 * kHour), std::nullopt);
}

TEST(History, ANeedlessBumpEndsWithTheNextChange) {
  Tracker t;
  t.Check(Seen("a1", kEnforce, kT0), kT0);
  t.Check(Seen("a2", kEnforce, kT0 + kHour), kT0 + kHour);
  ASSERT_EQ(t.history.id_bump_until_ms, kT0 + kHour + kWeek);
  // The policy then changes under a2: the bump note no longer describes anything.
  EXPECT_EQ(t.Check(Seen("a2", MakePolicy(policy::Mode::kEnforce, 86400), kT0 + 2 * kHour),
                    kT0 + 2 * kHour),
            std::set{IssueCode::kPolicyChangedWithoutIdChange});
}

TEST(History, ChangedIdChangedPolicyIsAProperUpdate) {
  Tracker t;
  t.Check(Seen("a1", kEnforce, kT0), kT0);
  const auto next = MakePolicy(policy::Mode::kEnforce, 1209600);
  EXPECT_EQ(t.Check(Seen("a2", next, kT0 + kHour), kT0 + kHour), kNone);
  EXPECT_EQ(t.history.previous_id, "a1");
  EXPECT_EQ(t.history.id, "a2");
  EXPECT_EQ(t.history.first_seen_ms, kT0 + kHour);
  EXPECT_EQ(t.history.id_first_seen_ms, kT0 + kHour);
  EXPECT_EQ(t.history.max_age, 1209600U);
}

TEST(History, EnforceToTestingIsADowngradeForTheOldMaxAge) {
  Tracker t;
  t.Check(Seen("a1", kEnforce, kT0), kT0);  // max_age one week
  const auto testing = MakePolicy(policy::Mode::kTesting, 86400);
  const std::int64_t at = kT0 + kHour;
  EXPECT_EQ(t.Check(Seen("a2", testing, at), at), std::set{IssueCode::kModeDowngraded});
  EXPECT_EQ(t.history.downgraded_at_ms, at);
  EXPECT_EQ(t.history.downgraded_until_ms, at + kWeek) << "the enforce policy's max_age";
  EXPECT_EQ(t.history.downgraded_to, "testing");
  EXPECT_EQ(NextHistoryExpiry(t.history, at), at + kWeek);
  const auto issues = HistoryIssues(t.history, at);
  ASSERT_EQ(issues.size(), 1U);
  EXPECT_EQ(issues[0].severity, Severity::kHigh);
  EXPECT_NE(issues[0].message.find("enforce to testing"), std::string::npos) << issues[0].message;
  // Still active a moment before the end, gone at it; the memory of when stays.
  EXPECT_EQ(t.Check(Seen("a2", testing, at + kWeek - 1), at + kWeek - 1),
            std::set{IssueCode::kModeDowngraded});
  EXPECT_EQ(t.Check(Seen("a2", testing, at + kWeek), at + kWeek), kNone);
  EXPECT_EQ(t.history.downgraded_at_ms, at);
  // testing -> none afterwards is no new downgrade from enforce.
  EXPECT_EQ(t.Check(Seen("a3", MakePolicy(policy::Mode::kNone, 86400, {}), at + 2 * kWeek),
                    at + 2 * kWeek),
            kNone);
}

TEST(History, EnforceToNoneIsADowngrade) {
  Tracker t;
  t.Check(Seen("a1", kEnforce, kT0), kT0);
  EXPECT_EQ(
      t.Check(Seen("a2", MakePolicy(policy::Mode::kNone, 86400, {}), kT0 + kHour), kT0 + kHour),
      std::set{IssueCode::kModeDowngraded});
  EXPECT_EQ(t.history.downgraded_to, "none");
}

TEST(History, AModeChangeWithoutANewIdIsBothADowngradeAndAStaleId) {
  Tracker t;
  t.Check(Seen("a1", kEnforce, kT0), kT0);
  EXPECT_EQ(t.Check(Seen("a1", MakePolicy(policy::Mode::kTesting), kT0 + kHour), kT0 + kHour),
            (std::set{IssueCode::kModeDowngraded, IssueCode::kPolicyChangedWithoutIdChange}));
}

TEST(History, BackToEnforceEndsTheDowngrade) {
  Tracker t;
  t.Check(Seen("a1", kEnforce, kT0), kT0);
  t.Check(Seen("a2", MakePolicy(policy::Mode::kTesting), kT0 + kHour), kT0 + kHour);
  EXPECT_EQ(t.Check(Seen("a3", kEnforce, kT0 + 2 * kHour), kT0 + 2 * kHour), kNone);
  EXPECT_EQ(NextHistoryExpiry(t.history, kT0 + 2 * kHour), std::nullopt);
}

TEST(History, AVanishedPolicyIsNotObservedAndNotADowngrade) {
  Tracker t;
  t.Check(Seen("a1", kEnforce, kT0), kT0);
  const PolicyHistory before = t.history;
  // 404: senders keep their cached enforce policy; other codes report the failure.
  EXPECT_EQ(t.Check(Seen("a1", std::nullopt, kT0 + kHour), kT0 + kHour), kNone);
  DomainReport no_txt = Seen("a1", kEnforce, kT0 + 2 * kHour);
  no_txt.sts_record = {};
  EXPECT_EQ(t.Check(no_txt, kT0 + 2 * kHour), kNone);
  EXPECT_EQ(t.history, before) << "nothing observed, nothing forgotten";
  // When a valid policy comes back in testing mode, that is the downgrade from enforce.
  EXPECT_EQ(
      t.Check(Seen("a2", MakePolicy(policy::Mode::kTesting), kT0 + 3 * kHour), kT0 + 3 * kHour),
      std::set{IssueCode::kModeDowngraded});
}

TEST(History, AnUnobservedCheckKeepsTheActiveIssues) {
  Tracker t;
  t.Check(Seen("a1", kEnforce, kT0), kT0);
  t.Check(Seen("a1", MakePolicy(policy::Mode::kTesting), kT0 + kHour), kT0 + kHour);
  DomainReport dns_failed = Seen("a1", std::nullopt, kT0 + 2 * kHour);
  dns_failed.sts_record = {};
  dns_failed.check_complete = false;
  EXPECT_EQ(t.Check(dns_failed, kT0 + 2 * kHour),
            (std::set{IssueCode::kModeDowngraded, IssueCode::kPolicyChangedWithoutIdChange}))
      << "a DNS outage neither fires nor clears a history-aware issue";
}

TEST(History, TheCheckAddsSortedIssuesAndTheSummary) {
  Tracker t;
  t.Check(Seen("a1", kEnforce, kT0), kT0);
  DomainReport report = Seen("a2", MakePolicy(policy::Mode::kTesting), kT0 + kHour);
  report.AddIssue(IssueCode::kTlsRptMissing, "no TLS-RPT");
  report.AddIssue(IssueCode::kModeTesting, "testing");
  const PolicyHistory expected = JudgeHistory(t.history, report, kT0 + kHour).after;
  EXPECT_EQ(JudgeInto(t.history, report, kT0 + kHour), expected);
  ASSERT_EQ(report.issues.size(), 3U);
  EXPECT_EQ(report.issues[0].code, IssueCode::kModeDowngraded);
  EXPECT_EQ(report.issues[1].code, IssueCode::kModeTesting);
  EXPECT_EQ(report.issues[2].code, IssueCode::kTlsRptMissing);
  ASSERT_TRUE(report.history.has_value());
  EXPECT_EQ(report.history->policy_first_seen_ms, kT0 + kHour);
  EXPECT_EQ(report.history->previous_id, "a1");
  EXPECT_EQ(report.history->mode_downgraded_at_ms, kT0 + kHour);
  EXPECT_EQ(report.history->mode_downgraded_until_ms, kT0 + kHour + kWeek);
  const auto json = ReportToJson(report);
  EXPECT_EQ(json["history"]["policy_first_seen"], "2026-01-01T01:00:00.000Z");
  EXPECT_EQ(json["history"]["previous_id"], "a1");
  EXPECT_EQ(json["history"]["mode_downgraded_at"], "2026-01-01T01:00:00.000Z");
  EXPECT_EQ(json["history"]["mode_downgraded_until"], "2026-01-08T01:00:00.000Z");

  // The posture (and so webhooks) carries the new codes; a mode_downgraded that appears is a
  // downgrade even when the mode change itself was already committed.
  webhooks::Posture now = webhooks::PostureFromReport(report);
  EXPECT_EQ(now.issues.at("mode_downgraded"), "high");
  webhooks::Posture testing_before = now;
  testing_before.issues.erase("mode_downgraded");
  EXPECT_TRUE(webhooks::IsDowngrade(testing_before, now));
  const auto changes = webhooks::Diff(testing_before, now);
  ASSERT_EQ(changes.size(), 1U);
  EXPECT_EQ(changes[0].field, "issues");
}

TEST(History, TheSummaryHasNoAgeForAPolicyItDoesNotRemember) {
  Tracker t;
  t.Check(Seen("a1", kEnforce, kT0), kT0);
  DomainReport two_txt = Seen("a1", MakePolicy(policy::Mode::kTesting), kT0 + kHour);
  two_txt.sts_record.valid = false;  // not observed: the memory still holds the enforce one
  const HistoryReport summary = HistorySummary(t.history, two_txt);
  EXPECT_FALSE(summary.policy_first_seen_ms.has_value());
  EXPECT_EQ(HistorySummary(t.history, Seen("a1", kEnforce, kT0)).policy_first_seen_ms, kT0);
  EXPECT_FALSE(ReportToJson(Seen("a1", kEnforce, kT0)).contains("history"))
      << "one-shot reports have no history field";
}

TEST(History, JsonRoundTripAndMalformedInput) {
  Tracker t;
  t.Check(Seen("a1", kEnforce, kT0), kT0);
  t.Check(Seen("a2", MakePolicy(policy::Mode::kTesting), kT0 + kHour), kT0 + kHour);
  auto back = HistoryFromJson(HistoryToJson(t.history));
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_EQ(back.value(), t.history);
  EXPECT_FALSE(HistoryFromJson(nlohmann::json::object()).has_value());
  auto bad = HistoryToJson(t.history);
  bad["mode"] = "sometimes";
  EXPECT_FALSE(HistoryFromJson(bad).has_value());
  bad = HistoryToJson(t.history);
  bad["first_seen_ms"] = "yesterday";
  EXPECT_FALSE(HistoryFromJson(bad).has_value());
}

TEST(History, TheFirstSeenMetricFollowsTheSummary) {
  Snapshot snapshot;
  DomainReport remembered = Seen("a1", kEnforce, kT0 + kHour);
  remembered.history = HistoryReport{kT0, std::nullopt, std::nullopt, std::nullopt};
  snapshot.domains["remembered.example"].report = PackedReport(remembered);
  DomainReport unknown = Seen("a1", std::nullopt, kT0 + kHour);
  unknown.history = HistoryReport{};
  snapshot.domains["unknown.example"].report = PackedReport(unknown);
  snapshot.domains["one-shot.example"].report = PackedReport(Seen("a1", kEnforce, kT0));
  const std::string text = Metrics().Render(snapshot);
  const std::string name = "mta_sts_policy_first_seen_timestamp_seconds";
  EXPECT_NE(text.find("# TYPE " + name + " gauge\n"), std::string::npos) << text;
  EXPECT_NE(text.find(name + "{domain=\"remembered.example\"} 1767225600\n"), std::string::npos)
      << text;
  EXPECT_EQ(text.find(name + "{domain=\"unknown.example\"}"), std::string::npos);
  EXPECT_EQ(text.find(name + "{domain=\"one-shot.example\"}"), std::string::npos);
}

class HistoryStateFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("mtasts-history-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(HistoryStateFile, ARestartRestoresTheMemoryAndFiresNothingNew) {
  // Before the restart: enforce, then a downgrade to testing under a new id.
  PolicyHistory history;
  DomainReport report;
  for (auto [id, mode, at] : {std::tuple{"a1", policy::Mode::kEnforce, kT0},
                              std::tuple{"a2", policy::Mode::kTesting, kT0 + kHour}}) {
    report = Seen(id, MakePolicy(mode), at);
    history = JudgeInto(history, report, at);
  }
  Snapshot snapshot;
  DomainState state;
  state.report = PackedReport(report);
  state.history = Packed<PolicyHistory>(history);
  snapshot.domains["example.com"] = state;
  StateFile file(dir_.string());
  ASSERT_TRUE(file.Save(snapshot).has_value());

  auto loaded = file.Load();
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  const DomainState& restored = loaded.value().at("example.com");
  const PolicyHistory restored_history = restored.history.Unpack();
  EXPECT_EQ(restored_history, history);
  ASSERT_TRUE(restored.report);
  const DomainReport restored_report = restored.report.Unpack();
  ASSERT_TRUE(restored_report.history);
  EXPECT_EQ(restored_report.history->mode_downgraded_at_ms, kT0 + kHour);
  EXPECT_EQ(restored_report.history->previous_id, "a1");
  EXPECT_TRUE(restored_report.HasIssue(IssueCode::kModeDowngraded));
  // The next check after the restart sees the same policy: the same issues, nothing new.
  auto next = JudgeHistory(restored_history,
                           Seen("a2", MakePolicy(policy::Mode::kTesting), kT0 + 2 * kHour),
                           kT0 + 2 * kHour);
  EXPECT_EQ(Codes(next.issues), std::set{IssueCode::kModeDowngraded});
  EXPECT_EQ(next.after, history);
}

TEST_F(HistoryStateFile, AFileWithoutHistoryLoadsAndSeedsItFromTheSavedReport) {
  // What a version without history wrote: a report and no "history" key.
  DomainReport report = Seen("a1", kEnforce, kT0);
  std::filesystem::create_directories(dir_);
  nlohmann::json file_json = {
      {"version", 1},
      {"domains",
       {{"example.com", {{"next_check_ms", kT0 + kHour}, {"report", ReportToJson(report)}}},
        {"unchecked.example", {{"next_check_ms", 0}}}}}};
  std::ofstream(dir_ / "state.json") << file_json.dump();

  auto loaded = StateFile(dir_.string()).Load();
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  const PolicyHistory memory = loaded.value().at("example.com").history.Unpack();
  EXPECT_TRUE(memory.Known());
  EXPECT_EQ(memory.id, "a1");
  EXPECT_EQ(memory.first_seen_ms, kT0) << "the saved check is the first sight";
  EXPECT_FALSE(loaded.value().at("unchecked.example").history.Unpack().Known());
  // A silent change after the upgrade is caught against the saved report.
  auto judged = JudgeHistory(memory, Seen("a1", MakePolicy(policy::Mode::kTesting), kT0 + kHour),
                             kT0 + kHour);
  EXPECT_EQ(Codes(judged.issues),
            (std::set{IssueCode::kModeDowngraded, IssueCode::kPolicyChangedWithoutIdChange}));
}

TEST_F(HistoryStateFile, AMalformedHistoryIsForgottenNotFatal) {
  DomainReport report = Seen("a1", kEnforce, kT0);
  std::filesystem::create_directories(dir_);
  nlohmann::json file_json = {
      {"version", 1},
      {"domains",
       {{"example.com", {{"report", ReportToJson(report)}, {"history", {{"id", 42}}}}}}}};
  std::ofstream(dir_ / "state.json") << file_json.dump();
  auto loaded = StateFile(dir_.string()).Load();
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  EXPECT_EQ(loaded.value().at("example.com").history.Unpack().id, "a1")
      << "re-seeded from the report";
}

}  // namespace
}  // namespace mtasts::agent
