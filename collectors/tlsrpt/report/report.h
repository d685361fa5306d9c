#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mtasts::tlsrpt {

/// RFC 8460 §4.3 result types, plus kOther for anything else (the raw string is kept).
enum class ResultType {
  kStarttlsNotSupported,
  kCertificateHostMismatch,
  kCertificateExpired,
  kCertificateNotTrusted,
  kValidationFailure,
  kTlsaInvalid,
  kDnssecInvalid,
  kDaneRequired,
  kStsPolicyFetchError,
  kStsPolicyInvalid,
  kStsWebpkiInvalid,
  kOther,
};

/// RFC 8460 §4.4 policy types, plus kOther.
enum class PolicyType { kSts, kTlsa, kNoPolicyFound, kOther };

/// The label value of a result type: one of §4.3's eleven names, or "other".
std::string_view ResultTypeName(ResultType type);
/// Maps a reported result-type (ASCII case-insensitive) to one of the eleven, else kOther.
ResultType ParseResultType(std::string_view text);
/// "sts", "tlsa", "no-policy-found" or "other".
std::string_view PolicyTypeName(PolicyType type);
PolicyType ParsePolicyType(std::string_view text);

/// One entry of a policy's "failure-details" (RFC 8460 §4.4). Strings are as reported,
/// sanitised for display (control and bidi characters replaced); empty when absent.
struct FailureDetail {
  ResultType result_type = ResultType::kOther;
  std::string result_type_raw;
  std::string sending_mta_ip;
  std::string receiving_mx_hostname;  // lower-cased, without a trailing dot
  std::string receiving_mx_helo;
  std::string receiving_ip;
  std::int64_t failed_session_count = 0;
  std::string additional_information;
  std::string failure_reason_code;  // also read from "failure-error-code" (RFC 8460 example)
};

/// One entry of "policies": the policy the sender applied, what it counted under it.
struct PolicyResult {
  PolicyType policy_type = PolicyType::kOther;
  std::string policy_type_raw;
  std::vector<std::string> policy_string;  // the policy's lines (for STS, the policy file)
  std::string policy_domain;               // normalised (A-labels, lower case, no final dot)
  std::vector<std::string> mx_host;        // a string or a list in reports: always a list here
  std::int64_t successful_sessions = 0;    // summary.total-successful-session-count
  std::int64_t failed_sessions = 0;        // summary.total-failure-session-count
  std::vector<FailureDetail> failure_details;
  /// Sum of failed-session-count over failure_details. Reporters' summaries do not always
  /// agree with their details; both are kept as reported, and Report::notes says so.
  std::int64_t detail_failed_sessions = 0;
  bool CountsDisagree() const { return detail_failed_sessions != failed_sessions; }
};

/// An aggregate report (RFC 8460 §4), validated and bounded by ParseReport.
struct Report {
  std::string organization_name;
  std::int64_t start_time = 0;  // date-range.start-datetime, Unix seconds (UTC)
  std::int64_t end_time = 0;    // date-range.end-datetime, Unix seconds (UTC)
  std::string contact_info;     // empty when null or absent
  std::string report_id;
  std::vector<PolicyResult> policies;
  /// What was tolerated, in words: summaries that disagree with their details, datetimes
  /// without a zone, truncated free-text fields. Never a reason to refuse.
  std::vector<std::string> notes;

  std::int64_t TotalSuccessfulSessions() const;
  std::int64_t TotalFailedSessions() const;
};

}  // namespace mtasts::tlsrpt
