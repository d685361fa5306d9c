#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "collectors/tlsrpt/report/report.h"

namespace mtasts::tlsrpt {

/// Bounds on one report's JSON. Everything past them is refused, with a reason naming it.
struct ParseLimits {
  std::size_t max_depth = 32;           // nesting of arrays and objects
  std::size_t max_values = 250'000;     // JSON values in the document (the in-memory tree)
  std::size_t max_field_octets = 1024;  // per string field; free text is cut, names refused
  std::size_t max_policies = 1'000;
  std::size_t max_failure_details = 10'000;    // in the whole report
  std::size_t max_list_entries = 200;          // policy-string lines, mx-host patterns
  std::int64_t max_count = 1'000'000'000'000;  // a session count, and a report's sum of them
};

/// Parses an RFC 8460 §4 aggregate report from its JSON text (UTF-8; a BOM is skipped).
///
/// Tolerated, as real reporters send them: datetimes without a zone (read as UTC), a null or
/// missing contact-info, mx-host as a string (the RFC's example) or a list (its erratum), failure
/// details without sending-mta-ip, "failure-error-code" for "failure-reason-code" (the RFC's
/// example), unknown fields, summaries whose failure count disagrees with the details (both kept;
/// Report::notes records it). Refused, with a reason naming the field: invalid JSON, duplicate
/// keys, nesting deeper than `max_depth`, a missing or mistyped required field
/// (organization-name, date-range with both datetimes, report-id, policies, and per policy
/// policy.policy-type, policy.policy-domain, summary with both counts; per failure detail
/// result-type and failed-session-count), a policy-domain that is not a domain name, a count that
/// is negative, not an integer or above `max_count` (also for a report's sum of counts), a date
/// range that ends before it starts, and anything past the limits. Never throws.
Result<Report> ParseReport(std::string_view json, const ParseLimits& limits = {});

/// An RFC 3339 date-time as Unix seconds (UTC); fractions of a second are dropped, a leap second
/// counts as :59. A missing zone is read as UTC and reported through `had_zone`.
Result<std::int64_t> ParseReportDateTime(std::string_view text, bool* had_zone = nullptr);

/// `text` (valid UTF-8) with control characters (C0, DEL, C1) and invisible direction marks
/// and overrides replaced by "?", so a reporter's string cannot forge or hide what follows it in
/// a log line, a terminal or a web page.
std::string SanitizeForDisplay(std::string_view text);

}  // namespace mtasts::tlsrpt
