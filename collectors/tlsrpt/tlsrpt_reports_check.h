#pragma once

#include <cstdint>

#include "collectors/history/history.h"
#include "collectors/report/report.h"
#include "collectors/tlsrpt/tlsrpt_window.h"

namespace mtasts::tlsrpt {

/// Judges what senders reported within the window (RFC 8460 §4) against the report of this
/// check (README "TLS-RPT reports"), adding to report.issues:
///
/// - tlsrpt_failures_reported: the reports count failed sessions; high when the served policy
///   is in mode enforce, medium otherwise. The message names the main reporters, result types
///   and receiving MX hosts, bounded.
/// - tlsrpt_policy_mismatch (medium): reporters applied a valid STS policy-string that differs
///   (canonically, history::PolicyDigest) from the valid policy served now, in a report whose
///   date-range ended more than that old policy's max_age after the served one was first seen:
///   longer than any sender may keep the old one cached (RFC 8461 §5.1).
///
/// `memory` is the daemon's memory of the domain before this check (it knows since when the
/// served policy is served); null or another policy: the served one is taken as new at `now_ms`.
/// Pure: no I/O.
void ApplyTlsRptWindow(const TlsRptWindow& window, const history::PolicyHistory* memory,
                       std::int64_t now_ms, DomainReport& report);

}  // namespace mtasts::tlsrpt
