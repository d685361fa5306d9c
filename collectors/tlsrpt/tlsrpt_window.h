#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mtasts::tlsrpt {

/// What the stored TLS-RPT reports (RFC 8460 §4) of one watched domain say within
/// `tlsrpt.window`: the input of the `tlsrpt_reports` check (README "TLS-RPT reports"). The
/// daemon fills it from its report store before a scheduled check is judged; the lists are
/// bounded by the store.
struct TlsRptWindow {
  /// Failed sessions of one reporter, result type and receiving MX host (failure details).
  struct FailureGroup {
    std::string organization;
    std::string result_type;            // RFC 8460 §4.3 result type, or "other"
    std::string receiving_mx_hostname;  // "" when not reported
    std::int64_t failed = 0;
  };
  /// One distinct STS policy-string that reporters said they applied.
  struct PolicyStrings {
    std::vector<std::string> lines;  // policy-string as reported (an STS policy's lines)
    std::int64_t reports = 0;
    std::int64_t first_end_time = 0;  // Unix s: ends of the date-ranges of the reports using it
    std::int64_t last_end_time = 0;
  };
  std::int64_t window_seconds = 0;  // tlsrpt.window
  std::int64_t reports = 0;
  std::int64_t success = 0;  // summary counts
  std::int64_t failure = 0;
  std::int64_t detail_failed = 0;           // failed-session-counts of the details
  std::vector<FailureGroup> failures;       // most failed sessions first
  std::vector<PolicyStrings> sts_policies;  // distinct STS policy-strings, newest first
};

}  // namespace mtasts::tlsrpt
