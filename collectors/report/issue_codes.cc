#include "collectors/report/issue_codes.h"

#include <stdexcept>

namespace mtasts {

std::string_view SeverityName(Severity severity) {
  switch (severity) {
    case Severity::kCritical: return "critical";
    case Severity::kHigh: return "high";
    case Severity::kMedium: return "medium";
    case Severity::kLow: return "low";
    case Severity::kInfo: return "info";
  }
  throw std::logic_error("unknown severity");
}

std::string_view IssueCodeName(IssueCode code) {
  switch (code) {
    case IssueCode::kStsRecordMissing: return "sts_record_missing";
    case IssueCode::kStsRecordInvalid: return "sts_record_invalid";
    case IssueCode::kPolicyMissing: return "policy_missing";
    case IssueCode::kPolicyFetchFailed: return "policy_fetch_failed";
    case IssueCode::kPolicyTlsInvalid: return "policy_tls_invalid";
    case IssueCode::kPolicyRedirect: return "policy_redirect";
    case IssueCode::kPolicyContentType: return "policy_content_type";
    case IssueCode::kPolicyTooLarge: return "policy_too_large";
    case IssueCode::kPolicyInvalid: return "policy_invalid";
    case IssueCode::kModeTesting: return "mode_testing";
    case IssueCode::kModeNone: return "mode_none";
    case IssueCode::kTlsRptMissing: return "tls_rpt_missing";
    case IssueCode::kTlsRptInvalid: return "tls_rpt_invalid";
    case IssueCode::kMxNotCovered: return "mx_not_covered";
    case IssueCode::kMxMissing: return "mx_missing";
    case IssueCode::kMaxAgeShort: return "max_age_short";
    case IssueCode::kDnsError: return "dns_error";
    case IssueCode::kTargetRefused: return "target_refused";
    case IssueCode::kPolicyChangedWithoutIdChange: return "policy_changed_without_id_change";
    case IssueCode::kPolicyIdChangedWithoutChange: return "policy_id_changed_without_change";
    case IssueCode::kModeDowngraded: return "mode_downgraded";
    case IssueCode::kMxStarttlsMissing: return "mx_starttls_missing";
    case IssueCode::kMxCertInvalid: return "mx_cert_invalid";
    case IssueCode::kMxUnreachable: return "mx_unreachable";
    case IssueCode::kMxCertExpiring: return "mx_cert_expiring";
    case IssueCode::kPolicyCertExpiring: return "policy_cert_expiring";
    case IssueCode::kTlsrptFailuresReported: return "tlsrpt_failures_reported";
    case IssueCode::kTlsrptPolicyMismatch: return "tlsrpt_policy_mismatch";
  }
  throw std::logic_error("unknown issue code");
}

std::optional<IssueCode> IssueCodeFromName(std::string_view name) {
  for (int i = 0; i <= static_cast<int>(kLastIssueCode); ++i) {
    auto code = static_cast<IssueCode>(i);
    if (IssueCodeName(code) == name) return code;
  }
  return std::nullopt;
}

std::optional<Severity> SeverityFromName(std::string_view name) {
  for (Severity severity : kAllSeverities) {
    if (SeverityName(severity) == name) return severity;
  }
  return std::nullopt;
}

Severity DefaultSeverity(IssueCode code) {
  switch (code) {
    case IssueCode::kMxNotCovered:  // critical in enforce mode
    case IssueCode::kMxStarttlsMissing:
    case IssueCode::kMxCertInvalid: return Severity::kHigh;
    case IssueCode::kModeTesting:
    case IssueCode::kPolicyChangedWithoutIdChange:
    case IssueCode::kMxUnreachable:
    case IssueCode::kMxCertExpiring:
    case IssueCode::kPolicyCertExpiring:
    case IssueCode::kTlsrptFailuresReported:  // high in enforce mode
    case IssueCode::kTlsrptPolicyMismatch: return Severity::kMedium;
    case IssueCode::kPolicyIdChangedWithoutChange: return Severity::kInfo;
    case IssueCode::kTlsRptMissing:
    case IssueCode::kTlsRptInvalid:
    case IssueCode::kMaxAgeShort: return Severity::kLow;
    default: return Severity::kHigh;
  }
}

}  // namespace mtasts
