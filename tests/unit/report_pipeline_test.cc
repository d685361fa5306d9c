// The post-check pipeline: damped posture changes, events, the store (the domain's memory the
// `history` check moved on with it).
#include "agent/pipeline/report_pipeline.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "collectors/check/checks.h"
#include "collectors/check/registry.h"

namespace mtasts::agent {
namespace {

constexpr std::int64_t kT0 = 1767225600000;  // 2026-01-01T00:00:00Z
constexpr std::int64_t kMinute = 60 * 1000;
constexpr std::int64_t kDay = 24 * 60 * kMinute;
const std::string kDomain = "example.com";

/// Stands in for the checker: what a check of the domain would report, set by the test.
struct FakeChecker {
  std::string id = "1";
  policy::Mode mode = policy::Mode::kEnforce;
  std::vector<std::string> mx = {"mx1.example.com"};
  bool complete = true;

  DomainReport Check(std::int64_t at_ms) const {
    DomainReport report;
    report.domain = kDomain;
    report.sts_record = {true, true, "v=STSv1; id=" + id + ";", id, {"v=STSv1; id=" + id + ";"}};
    report.policy.url = "https://mta-sts.example.com/.well-known/mta-sts.txt";
    report.policy.found = report.policy.valid = true;
    report.policy.content_type = "text/plain";
    report.policy.policy = policy::Policy{"STSv1", mode, 604800, mx, {}};
    report.enforced = mode == policy::Mode::kEnforce;
    report.check_complete = complete;
    report.checked_at_ms = at_ms;
    return report;
  }
};

std::set<IssueCode> Codes(const DomainReport& report) {
  std::set<IssueCode> out;
  for (const auto& issue : report.issues) out.insert(issue.code);
  return out;
}

class PipelineTest : public ::testing::Test {
 protected:
  PipelineTest()
      : pipeline_({store_, [this] { return now_; },
                   [this](const std::string& domain, const webhooks::Observation& observation) {
                     emitted_.emplace_back(domain, observation);
                   },
                   [this](const std::string& domain, std::int64_t at_ms) {
                     rechecks_.emplace_back(domain, at_ms);
                   },
                   [this] { ++changed_; }}) {
    config::ScheduleSettings schedule;
    schedule.confirmations = 2;
    schedule.min_interval = std::chrono::minutes(5);
    pipeline_.SetSchedule(schedule);
    store_.Update([](Snapshot& s) { s.domains[kDomain] = DomainState{}; });
  }

  /// One scheduled check at the fake clock's time, the next planned a day later. Like the
  /// daemon's check, it starts from the stored memory and ends with the `history` check (the
  /// registry's last) and the report finished.
  void CheckNow() {
    const std::optional<DomainState> stored = store_.GetDomain(kDomain);
    CheckOutcome outcome{checker_.Check(now_),
                         stored ? stored->history.Unpack() : history::PolicyHistory{}};
    check::HistoryCheck().Judge(
        check::Observations{}, check::JudgeContext{.now_ms = now_, .memory = &outcome.memory_after},
        outcome.report);
    FinishReport(outcome.report);
    pipeline_.OnReport(kDomain, outcome, now_ + kDay);
  }
  // The stored state, unpacked (the store keeps it packed: README "Memory").
  struct Unpacked {
    std::optional<DomainReport> report;
    std::int64_t next_check_ms = 0;
    std::uint64_t posture_changes = 0;
    webhooks::TrackerState tracker;
    history::PolicyHistory history;
  };
  Unpacked State() const {
    const DomainState state = *store_.GetDomain(kDomain);
    Unpacked out;
    if (state.report) out.report = state.report.Unpack();
    out.next_check_ms = state.next_check_ms;
    out.posture_changes = state.posture_changes;
    out.tracker = state.tracker.Unpack();
    out.history = state.history.Unpack();
    return out;
  }

  ResultStore store_;
  std::int64_t now_ = kT0;
  FakeChecker checker_;
  std::vector<std::pair<std::string, webhooks::Observation>> emitted_;
  std::vector<std::pair<std::string, std::int64_t>> rechecks_;
  int changed_ = 0;
  ReportPipeline pipeline_;
};

TEST_F(PipelineTest, TheFirstCheckIsABaselineStoredWithoutAnEvent) {
  CheckNow();
  EXPECT_TRUE(emitted_.empty());
  EXPECT_TRUE(rechecks_.empty());
  EXPECT_EQ(changed_, 1);
  const Unpacked state = State();
  ASSERT_TRUE(state.report);
  EXPECT_EQ(state.report->sts_record.id, "1");
  EXPECT_EQ(state.next_check_ms, kT0 + kDay);
  ASSERT_TRUE(state.tracker.committed);
  EXPECT_EQ(state.tracker.committed->mode, "enforce");
  EXPECT_EQ(state.history.id, "1");
  EXPECT_EQ(state.posture_changes, 0U);
}

TEST_F(PipelineTest, AChangeCountsOnceConfirmedAndItsEventGoesOutBeforeTheStoreCommitsIt) {
  CheckNow();
  now_ += kMinute;
  checker_.id = "2";
  checker_.mode = policy::Mode::kTesting;
  CheckNow();
  // Seen once: pending, looked at again after min_interval, no event yet.
  EXPECT_TRUE(emitted_.empty());
  ASSERT_FALSE(rechecks_.empty());
  EXPECT_EQ(rechecks_.front(), std::make_pair(kDomain, now_ + 5 * kMinute));
  EXPECT_EQ(State().tracker.committed->mode, "enforce");

  now_ += 5 * kMinute;
  CheckNow();
  ASSERT_EQ(emitted_.size(), 1U);
  EXPECT_EQ(emitted_[0].first, kDomain);
  EXPECT_EQ(emitted_[0].second.before.mode, "enforce");
  EXPECT_EQ(emitted_[0].second.after.mode, "testing");
  const Unpacked state = State();
  EXPECT_EQ(state.posture_changes, 1U);
  EXPECT_EQ(state.tracker.committed->mode, "testing");
  // The history judgement joined the report before the posture was taken from it: the
  // downgrade is in the event and in the stored report, and ends on time (a recheck at the old
  // policy's max_age).
  EXPECT_TRUE(Codes(*state.report).count(IssueCode::kModeDowngraded));
  EXPECT_TRUE(emitted_[0].second.after.issues.count("mode_downgraded"));
  ASSERT_TRUE(state.history.downgraded_until_ms > 0);
  EXPECT_EQ(rechecks_.back(), std::make_pair(kDomain, state.history.downgraded_until_ms));
  EXPECT_EQ(changed_, 3);
}

TEST_F(PipelineTest, AnIncompleteCheckIsStoredButSaysNothingAboutThePosture) {
  CheckNow();
  checker_.mode = policy::Mode::kNone;
  checker_.complete = false;
  now_ += kMinute;
  CheckNow();
  now_ += 10 * kMinute;
  CheckNow();
  EXPECT_TRUE(emitted_.empty());
  const Unpacked state = State();
  EXPECT_EQ(state.tracker.committed->mode, "enforce");
  EXPECT_FALSE(state.tracker.candidate);
  EXPECT_EQ(state.report->checked_at_ms, now_);
}

TEST_F(PipelineTest, ADomainRemovedMeanwhileIsIgnored) {
  store_.Update([](Snapshot& s) { s.domains.clear(); });
  CheckNow();
  EXPECT_FALSE(store_.GetDomain(kDomain));
  EXPECT_TRUE(emitted_.empty());
  EXPECT_TRUE(rechecks_.empty());
  EXPECT_EQ(changed_, 0);
}

}  // namespace
}  // namespace mtasts::agent
