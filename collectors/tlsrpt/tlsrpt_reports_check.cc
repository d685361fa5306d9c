#include "collectors/tlsrpt/tlsrpt_reports_check.h"

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "base/duration.h"
#include "base/rfc3339.h"
#include "collectors/check/checks.h"
#include "collectors/policy/policy_parser.h"

namespace mtasts::tlsrpt {
namespace {

// Reporters name themselves: what a message quotes of them is cut short (at a UTF-8 character
// boundary), so a hostile report cannot blow up every issue, metric page and webhook.
constexpr std::size_t kMaxShownText = 64;
// The failure groups and mismatching policies a message names before "and N more".
constexpr std::size_t kMaxNamed = 3;

std::string Quoted(std::string_view text) {
  if (text.size() <= kMaxShownText) return std::string(text);
  std::size_t cut = kMaxShownText;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0U) == 0x80U) --cut;
  return std::string(text.substr(0, cut)) + "...";
}

std::string Plural(std::int64_t n, std::string_view word) {
  return std::to_string(n) + " " + std::string(word) + (n == 1 ? "" : "s");
}

void ReportFailures(const TlsRptWindow& window, DomainReport& report) {
  if (window.failure <= 0 && window.detail_failed <= 0) return;
  std::string message = Plural(std::max(window.failure, window.detail_failed), "failed session") +
                        " (" + std::to_string(window.success) + " successful) in " +
                        Plural(window.reports, "report") + " of the last " +
                        FormatDuration(std::chrono::milliseconds(window.window_seconds * 1000)) +
                        ": ";
  std::int64_t named = 0;
  const std::size_t shown = std::min(window.failures.size(), kMaxNamed);
  for (std::size_t i = 0; i < shown; ++i) {
    const auto& group = window.failures[i];
    if (i > 0) message += ", ";
    message += Quoted(group.organization) + ": " + Plural(group.failed, "session") + " " +
               group.result_type + " at " +
               (group.receiving_mx_hostname.empty() ? std::string("an unnamed MX host")
                                                    : Quoted(group.receiving_mx_hostname));
    named += group.failed;
  }
  if (shown == 0) message += "the reports give no failure details";
  if (window.detail_failed > named) {
    message += ", and " + std::to_string(window.detail_failed - named) + " more";
  }
  const bool enforce = report.policy.valid && report.policy.policy &&
                       report.policy.policy->mode == policy::Mode::kEnforce;
  // Under enforce a failed session is mail that was not delivered (RFC 8461 §5): high.
  report.AddIssue(IssueCode::kTlsrptFailuresReported, enforce ? Severity::kHigh : Severity::kMedium,
                  message);
}

std::optional<policy::Policy> ParseReported(const std::vector<std::string>& lines) {
  std::string body;
  for (const auto& line : lines) body += line + "\n";
  auto parsed = policy::ParsePolicy(body);
  if (!parsed) return std::nullopt;
  return std::move(parsed).value();
}

std::string Describe(const policy::Policy& p) {
  std::string out =
      "mode " + std::string(policy::ModeName(p.mode)) + ", max_age " + std::to_string(p.max_age);
  const std::size_t shown = std::min(p.mx.size(), kMaxNamed);
  for (std::size_t i = 0; i < shown; ++i) out += ", mx " + Quoted(p.mx[i]);
  if (p.mx.size() > shown) out += ", and " + std::to_string(p.mx.size() - shown) + " more mx";
  return out;
}

void ReportMismatch(const TlsRptWindow& window, const history::PolicyHistory* memory,
                    std::int64_t now_ms, DomainReport& report) {
  if (!report.policy.valid || !report.policy.policy) return;  // nothing served to compare with
  const std::string served = history::PolicyDigest(*report.policy.policy);
  // Since when the served policy is served: the memory's first sighting of this content, else
  // now (a policy first seen in this check has not been in place at all).
  const std::int64_t served_since_ms =
      memory != nullptr && memory->Known() && memory->digest == served ? memory->first_seen_ms
                                                                       : now_ms;
  std::size_t found = 0;
  std::string message;
  for (const auto& reported : window.sts_policies) {
    const auto old = ParseReported(reported.lines);
    if (!old || history::PolicyDigest(*old) == served) continue;
    // A sender may apply a cached policy for its max_age after it last fetched it (RFC 8461
    // §5.1): only a report ending later than that after the change shows a stale policy.
    const std::int64_t in_place_ms = reported.last_end_time * 1000 - served_since_ms;
    if (in_place_ms <= static_cast<std::int64_t>(old->max_age) * 1000) continue;
    if (++found > kMaxNamed) continue;
    if (found > 1) message += "; ";
    message += "senders applied a policy (" + Describe(*old) +
               ") that differs from the one served in " + Plural(reported.reports, "report") +
               " up to " + FormatRfc3339Millis(reported.last_end_time * 1000) +
               ", although the served one has been in place since " +
               FormatRfc3339Millis(served_since_ms) + ", longer than that policy's max_age";
  }
  if (found == 0) return;
  if (found > kMaxNamed) message += "; and " + std::to_string(found - kMaxNamed) + " more";
  report.AddIssue(IssueCode::kTlsrptPolicyMismatch, message);
}

}  // namespace

void ApplyTlsRptWindow(const TlsRptWindow& window, const history::PolicyHistory* memory,
                       std::int64_t now_ms, DomainReport& report) {
  ReportFailures(window, report);
  ReportMismatch(window, memory, now_ms, report);
}

}  // namespace mtasts::tlsrpt

namespace mtasts::check {

TlsRptReportsCheck::TlsRptReportsCheck()
    : Check({"tlsrpt_reports",
             "RFC 8460 §4",
             Scope::kDaemon,
             {IssueCode::kTlsrptFailuresReported, IssueCode::kTlsrptPolicyMismatch}}) {}

void TlsRptReportsCheck::Judge(const Observations& /*seen*/, const JudgeContext& context,
                               DomainReport& report) const {
  if (context.tlsrpt_window == nullptr) return;  // a one-shot check: no stored reports
  // After the `policy` check (the mode and the served policy) and before `history`, which moves
  // the memory on: it reads when the served policy was first seen.
  tlsrpt::ApplyTlsRptWindow(*context.tlsrpt_window, context.memory, context.now_ms, report);
}

}  // namespace mtasts::check
