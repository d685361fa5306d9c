#include "collectors/report/issue_codes.h"

#include <gtest/gtest.h>

namespace mtasts {
namespace {

TEST(IssueCodes, NamesAndSeveritiesFollowTheContract) {
  EXPECT_EQ(IssueCodeName(IssueCode::kStsRecordMissing), "sts_record_missing");
  EXPECT_EQ(IssueCodeName(IssueCode::kTargetRefused), "target_refused");
  EXPECT_EQ(DefaultSeverity(IssueCode::kPolicyContentType), Severity::kHigh);
  EXPECT_EQ(DefaultSeverity(IssueCode::kTlsRptMissing), Severity::kLow);
  EXPECT_EQ(DefaultSeverity(IssueCode::kDnsError), Severity::kHigh);
  EXPECT_EQ(SeverityName(Severity::kCritical), "critical");
}

}  // namespace
}  // namespace mtasts
