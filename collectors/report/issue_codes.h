#pragma once

#include <optional>
#include <string_view>

namespace mtasts {

/// Severities, most severe first; the numeric order is the report's sort order.
enum class Severity { kCritical = 0, kHigh = 1, kMedium = 2, kLow = 3, kInfo = 4 };

inline constexpr Severity kAllSeverities[] = {Severity::kCritical, Severity::kHigh,
                                              Severity::kMedium, Severity::kLow, Severity::kInfo};

std::string_view SeverityName(Severity severity);

/// The issue codes (README "Issue codes"). Names are part of the external contract: never
/// rename. Each belongs to one check of the registry (collectors/check/registry.cc), except
/// dns_error, which every check that asks DNS for what it judges can raise.
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
  // What senders reported (RFC 8460 §4), the daemon only: its stored TLS-RPT reports.
  kTlsrptFailuresReported,
  kTlsrptPolicyMismatch,
};

/// The last enumerator: the codes are 0..kLastIssueCode.
inline constexpr IssueCode kLastIssueCode = IssueCode::kTlsrptPolicyMismatch;

std::string_view IssueCodeName(IssueCode code);

/// Inverses of the names above, for reading persisted state; nothing for an unknown name.
std::optional<IssueCode> IssueCodeFromName(std::string_view name);
std::optional<Severity> SeverityFromName(std::string_view name);

/// The severity of a code. For kMxNotCovered, kMxStarttlsMissing and kMxCertInvalid it is the
/// one in mode testing: their checks raise them critical in enforce (and kMxCertInvalid medium
/// without a policy); for kTlsrptFailuresReported it is the one outside enforce (high in
/// enforce), README "Issue codes".
Severity DefaultSeverity(IssueCode code);

}  // namespace mtasts
