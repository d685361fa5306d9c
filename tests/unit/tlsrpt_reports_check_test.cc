// The `tlsrpt_reports` check: what stored TLS-RPT reports say, judged against the served policy
// and the daemon's memory of it. Every branch from a fabricated window, no store, no network.
#include "collectors/tlsrpt/tlsrpt_reports_check.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "collectors/check/registry.h"
#include "collectors/history/history.h"
#include "collectors/policy/policy_parser.h"

namespace mtasts::tlsrpt {
namespace {

constexpr std::int64_t kDay = 24 * 3600;
constexpr std::int64_t kNow = 1'780'000'000;  // Unix s
constexpr std::int64_t kNowMs = kNow * 1000;

const std::vector<std::string> kServedLines = {"version: STSv1", "mode: enforce",
                                               "mx: mx1.example.com", "max_age: 604800"};
const std::vector<std::string> kOldLines = {"version: STSv1", "mode: enforce",
                                            "mx: old.example.com", "max_age: 86400"};

policy::Policy Parse(const std::vector<std::string>& lines) {
  std::string body;
  for (const auto& line : lines) body += line + "\n";
  auto parsed = policy::ParsePolicy(body);
  EXPECT_TRUE(parsed.has_value());
  return parsed.value();
}

DomainReport Served(const std::vector<std::string>& lines) {
  DomainReport report;
  report.domain = "example.com";
  report.policy.found = true;
  report.policy.valid = true;
  report.policy.policy = Parse(lines);
  return report;
}

history::PolicyHistory ServedSince(const std::vector<std::string>& lines, std::int64_t since_ms) {
  history::PolicyHistory memory;
  memory.id = "1";
  memory.digest = history::PolicyDigest(Parse(lines));
  memory.mode = "enforce";
  memory.first_seen_ms = since_ms;
  return memory;
}

TlsRptWindow Failing() {
  TlsRptWindow window;
  window.window_seconds = 7 * kDay;
  window.reports = 3;
  window.success = 100;
  window.failure = 9;
  window.detail_failed = 9;
  window.failures = {{"Reporter-X", "certificate-expired", "mx1.example.com", 5},
                     {"Reporter-Y", "certificate-host-mismatch", "mx2.example.com", 4}};
  return window;
}

const Issue* Find(const DomainReport& report, IssueCode code) {
  for (const auto& issue : report.issues) {
    if (issue.code == code) return &issue;
  }
  return nullptr;
}

TEST(TlsRptReportsCheck, NoFailuresNoIssue) {
  TlsRptWindow window;
  window.window_seconds = 7 * kDay;
  window.reports = 2;
  window.success = 500;
  window.sts_policies = {{kServedLines, 2, kNow - kDay, kNow}};
  DomainReport report = Served(kServedLines);
  const auto memory = ServedSince(kServedLines, kNowMs - 30 * kDay * 1000);
  ApplyTlsRptWindow(window, &memory, kNowMs, report);
  EXPECT_TRUE(report.issues.empty());
}

TEST(TlsRptReportsCheck, FailuresNameReporterResultTypeAndMxHost) {
  DomainReport report = Served(kServedLines);
  ApplyTlsRptWindow(Failing(), nullptr, kNowMs, report);
  const Issue* issue = Find(report, IssueCode::kTlsrptFailuresReported);
  ASSERT_NE(issue, nullptr);
  EXPECT_EQ(issue->severity, Severity::kHigh) << "the served policy enforces";
  EXPECT_EQ(issue->message,
            "9 failed sessions (100 successful) in 3 reports of the last 1w: Reporter-X: 5 "
            "sessions certificate-expired at mx1.example.com, Reporter-Y: 4 sessions "
            "certificate-host-mismatch at mx2.example.com");
}

TEST(TlsRptReportsCheck, FailuresAreMediumOutsideEnforce) {
  for (const char* mode : {"testing", "none"}) {
    DomainReport report = Served(
        {"version: STSv1", std::string("mode: ") + mode, "mx: mx1.example.com", "max_age: 604800"});
    ApplyTlsRptWindow(Failing(), nullptr, kNowMs, report);
    const Issue* issue = Find(report, IssueCode::kTlsrptFailuresReported);
    ASSERT_NE(issue, nullptr) << mode;
    EXPECT_EQ(issue->severity, Severity::kMedium) << mode;
  }
  DomainReport no_policy;  // no valid policy served: nothing is enforced
  no_policy.domain = "example.com";
  ApplyTlsRptWindow(Failing(), nullptr, kNowMs, no_policy);
  const Issue* issue = Find(no_policy, IssueCode::kTlsrptFailuresReported);
  ASSERT_NE(issue, nullptr);
  EXPECT_EQ(issue->severity, Severity::kMedium);
}

TEST(TlsRptReportsCheck, TheMessageIsBoundedWhateverReportersSend) {
  TlsRptWindow window = Failing();
  window.failures.clear();
  const std::string hostile(10'000, 'A');
  // "é" straddling the cut: the message stays valid UTF-8.
  const std::string accented = std::string(63, 'b') + "\xC3\xA9" + std::string(100, 'c');
  for (int i = 0; i < 100; ++i) {
    window.failures.push_back(
        {i == 1 ? accented : hostile, "starttls-not-supported", i == 2 ? "" : hostile, 1});
  }
  window.failure = 150;
  window.detail_failed = 150;
  DomainReport report = Served(kServedLines);
  ApplyTlsRptWindow(window, nullptr, kNowMs, report);
  const Issue* issue = Find(report, IssueCode::kTlsrptFailuresReported);
  ASSERT_NE(issue, nullptr);
  EXPECT_LT(issue->message.size(), 600U) << issue->message;
  EXPECT_NE(issue->message.find(std::string(63, 'b') + "..."), std::string::npos)
      << "cut before the two-byte character, not inside it";
  EXPECT_NE(issue->message.find("at an unnamed MX host"), std::string::npos);
  EXPECT_TRUE(issue->message.ends_with(", and 147 more")) << issue->message;
}

TEST(TlsRptReportsCheck, FailuresWithoutDetailsSaySo) {
  TlsRptWindow window;
  window.window_seconds = kDay;
  window.reports = 1;
  window.failure = 2;  // the summary counts failures the details do not describe
  DomainReport report = Served(kServedLines);
  ApplyTlsRptWindow(window, nullptr, kNowMs, report);
  const Issue* issue = Find(report, IssueCode::kTlsrptFailuresReported);
  ASSERT_NE(issue, nullptr);
  EXPECT_EQ(issue->message,
            "2 failed sessions (0 successful) in 1 report of the last 1d: the reports give no "
            "failure details");
}

TlsRptWindow ApplyingOld(std::int64_t last_end_time) {
  TlsRptWindow window;
  window.window_seconds = 7 * kDay;
  window.reports = 2;
  window.success = 10;
  window.sts_policies = {{kServedLines, 1, kNow - kDay, kNow - kDay},
                         {kOldLines, 1, last_end_time, last_end_time}};
  return window;
}

TEST(TlsRptReportsCheck, AnOldPolicyAppliedLongAfterItsMaxAgeIsAMismatch) {
  // Served for 10 days; a report ending 2 days ago applied the old one (max_age 1 day).
  const auto memory = ServedSince(kServedLines, kNowMs - 10 * kDay * 1000);
  DomainReport report = Served(kServedLines);
  ApplyTlsRptWindow(ApplyingOld(kNow - 2 * kDay), &memory, kNowMs, report);
  const Issue* issue = Find(report, IssueCode::kTlsrptPolicyMismatch);
  ASSERT_NE(issue, nullptr);
  EXPECT_EQ(issue->severity, Severity::kMedium);
  EXPECT_NE(issue->message.find("mode enforce, max_age 86400, mx old.example.com"),
            std::string::npos)
      << issue->message;
  EXPECT_EQ(report.issues.size(), 1U) << "no failures were reported";
}

TEST(TlsRptReportsCheck, AnOldPolicyWithinItsMaxAgeIsNoMismatch) {
  // The served one was first seen 12 hours before the report's end: a sender may still hold
  // the old one in its cache (max_age 1 day).
  const auto memory = ServedSince(kServedLines, kNowMs - 2 * kDay * 1000);
  DomainReport report = Served(kServedLines);
  ApplyTlsRptWindow(ApplyingOld(kNow - 2 * kDay + kDay / 2), &memory, kNowMs, report);
  EXPECT_EQ(Find(report, IssueCode::kTlsrptPolicyMismatch), nullptr);
  // Exactly max_age after: still allowed.
  DomainReport edge = Served(kServedLines);
  ApplyTlsRptWindow(ApplyingOld(kNow - kDay), &memory, kNowMs, edge);
  EXPECT_EQ(Find(edge, IssueCode::kTlsrptPolicyMismatch), nullptr);
  // One second later: not.
  DomainReport past = Served(kServedLines);
  ApplyTlsRptWindow(ApplyingOld(kNow - kDay + 1), &memory, kNowMs, past);
  EXPECT_NE(Find(past, IssueCode::kTlsrptPolicyMismatch), nullptr);
}

TEST(TlsRptReportsCheck, APolicyNotInTheMemoryIsNewAndCannotMismatch) {
  // No memory (or a memory of another policy): the served one is taken as first seen now.
  DomainReport without = Served(kServedLines);
  ApplyTlsRptWindow(ApplyingOld(kNow - kDay / 2), nullptr, kNowMs, without);
  EXPECT_EQ(Find(without, IssueCode::kTlsrptPolicyMismatch), nullptr);
  const auto other = ServedSince(kOldLines, kNowMs - 100 * kDay * 1000);
  DomainReport changed = Served(kServedLines);
  ApplyTlsRptWindow(ApplyingOld(kNow - kDay / 2), &other, kNowMs, changed);
  EXPECT_EQ(Find(changed, IssueCode::kTlsrptPolicyMismatch), nullptr);
}

TEST(TlsRptReportsCheck, TheSamePolicyWrittenDifferentlyIsNoMismatch) {
  const auto memory = ServedSince(kServedLines, kNowMs - 100 * kDay * 1000);
  TlsRptWindow window;
  window.window_seconds = 7 * kDay;
  // Another field order and a repeated mx line: canonically the served policy.
  window.sts_policies = {{{"version: STSv1", "max_age: 604800", "mx: MX1.example.com",
                           "mx: mx1.example.com", "mode: enforce"},
                          3,
                          kNow - 3 * kDay,
                          kNow - kDay}};
  DomainReport report = Served(kServedLines);
  ApplyTlsRptWindow(window, &memory, kNowMs, report);
  EXPECT_TRUE(report.issues.empty());
}

TEST(TlsRptReportsCheck, UnparsableReportedPoliciesAndNoServedPolicyAreNotJudged) {
  const auto memory = ServedSince(kServedLines, kNowMs - 100 * kDay * 1000);
  TlsRptWindow garbage;
  garbage.window_seconds = 7 * kDay;
  garbage.sts_policies = {{{"not a policy"}, 1, kNow - kDay, kNow - kDay}};
  DomainReport report = Served(kServedLines);
  ApplyTlsRptWindow(garbage, &memory, kNowMs, report);
  EXPECT_TRUE(report.issues.empty()) << "no max_age to judge by";
  DomainReport unserved;  // the policy cannot be fetched now: nothing to compare with
  unserved.domain = "example.com";
  ApplyTlsRptWindow(ApplyingOld(kNow - kDay / 2), &memory, kNowMs, unserved);
  EXPECT_TRUE(unserved.issues.empty());
}

TEST(TlsRptReportsCheck, ManyMismatchingPoliciesAreNamedUpToThree) {
  const auto memory = ServedSince(kServedLines, kNowMs - 100 * kDay * 1000);
  TlsRptWindow window;
  window.window_seconds = 7 * kDay;
  for (int i = 0; i < 5; ++i) {
    window.sts_policies.push_back(
        {{"version: STSv1", "mode: testing", "mx: old" + std::to_string(i) + ".example.com",
          "max_age: 3600"},
         1,
         kNow - kDay,
         kNow - kDay});
  }
  DomainReport report = Served(kServedLines);
  ApplyTlsRptWindow(window, &memory, kNowMs, report);
  const Issue* issue = Find(report, IssueCode::kTlsrptPolicyMismatch);
  ASSERT_NE(issue, nullptr);
  EXPECT_NE(issue->message.find("old2.example.com"), std::string::npos);
  EXPECT_EQ(issue->message.find("old3.example.com"), std::string::npos);
  EXPECT_TRUE(issue->message.ends_with("; and 2 more")) << issue->message;
}

// Through the registry: the daemon's check (a window in the context) raises the codes, a
// one-shot check (none) does not, and the memory the check read is the one before `history`.
TEST(TlsRptReportsCheck, TheRegistryJudgesTheDaemonsReportsOnly) {
  check::Observations seen;
  seen.domain = "example.com";
  DomainReport one_shot;
  check::JudgeDomain(seen, check::JudgeContext{.now_ms = kNowMs}, one_shot);
  EXPECT_EQ(Find(one_shot, IssueCode::kTlsrptFailuresReported), nullptr);
  const TlsRptWindow window = Failing();
  DomainReport daemon;
  check::JudgeDomain(seen, check::JudgeContext{.now_ms = kNowMs, .tlsrpt_window = &window}, daemon);
  const Issue* issue = Find(daemon, IssueCode::kTlsrptFailuresReported);
  ASSERT_NE(issue, nullptr);
  EXPECT_EQ(issue->severity, Severity::kMedium) << "nothing observed: no enforce policy";
}

}  // namespace
}  // namespace mtasts::tlsrpt
