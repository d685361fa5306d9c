#include <utility>

#include "collectors/check/checks.h"
#include "collectors/history/history.h"

namespace mtasts::check {

HistoryCheck::HistoryCheck()
    : Check({"history",
             "RFC 8461 §3.1, §5.1",
             Scope::kDaemon,
             {IssueCode::kPolicyChangedWithoutIdChange, IssueCode::kPolicyIdChangedWithoutChange,
              IssueCode::kModeDowngraded}}) {}

void HistoryCheck::Judge(const Observations& /*seen*/, const JudgeContext& context,
                         DomainReport& report) const {
  if (context.memory == nullptr) return;  // a one-shot check: no memory, no history
  // After every other check: it reads the id and the policy they judged (report.sts_record,
  // report.policy).
  history::HistoryJudgement judged = history::JudgeHistory(*context.memory, report, context.now_ms);
  for (const auto& issue : judged.issues)
    report.AddIssue(issue.code, issue.severity, issue.message);
  report.history = history::HistorySummary(judged.after, report);
  *context.memory = std::move(judged.after);
}

}  // namespace mtasts::check
