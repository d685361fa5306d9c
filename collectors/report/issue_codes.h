#pragma once

#include <optional>
#include <string_view>

namespace mtasts {

/// Severities, most severe first; the numeric order is the report's sort order.
enum class Severity { kCritical = 0, kHigh = 1, kMedium = 2, kLow = 3, kInfo = 4 };

inline constexpr Severity kAllSeverities[] = {Severity::kCritical, Severity::kHigh,
                                              Severity::kMedium, Severity::kLow, Severity::kInfo};

std::string_view SeverityName(Severity severity);

/// The issue codes of README "Issue codes". Users' alerts and dashboards match these names:
/// never rename.
enum class IssueCode {
  kStsRecordMissing,
  kStsRecordInvalid,
  kPolicyMissing,
  kPolicyFetchFailed,
  kPolicyTlsInvalid,
  kPolicyRedirect,
  kPolicyContentType,
  kPolicyTooLarge,
  kPolicyInvalid,
  kModeTesting,
  kModeNone,
  kTlsRptMissing,
  kTlsRptInvalid,
  kMxNotCovered,
  kMxMissing,
  kMaxAgeShort,
  kDnsError,
  kTargetRefused,
  // History-aware (the daemon only: they compare a check with what was seen before).
  kPolicyChangedWithoutIdChange,
  kPolicyIdChangedWithoutChange,
  kModeDowngraded,
  // The MX probe (opt-in) and certificate expiry.
  kMxStarttlsMissing,
  kMxCertInvalid,
  kMxUnreachable,
  kMxCertExpiring,
  kPolicyCertExpiring,
};

std::string_view IssueCodeName(IssueCode code);

/// Inverses of the names above, for reading persisted state; nothing for an unknown name.
std::optional<IssueCode> IssueCodeFromName(std::string_view name);
std::optional<Severity> SeverityFromName(std::string_view name);

/// The severity of a code when it does not depend on the policy's mode. kMxNotCovered,
/// kMxStarttlsMissing and kMxCertInvalid do (README "Issue codes"): mx::ApplyMx and
/// smtp::ApplyMxObservation choose theirs.
Severity DefaultSeverity(IssueCode code);

}  // namespace mtasts
