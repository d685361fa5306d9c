#include "collectors/history/history.h"

#include <algorithm>
#include <cctype>

#include "base/rfc3339.h"
#include "base/sha256.h"

namespace mtasts::history {
namespace {

constexpr std::string_view kEnforce = "enforce";

std::int64_t Later(std::int64_t from_ms, std::uint32_t seconds) {
  return from_ms + static_cast<std::int64_t>(seconds) * 1000;
}

std::string Time(std::int64_t ms) {
  return FormatRfc3339Millis(ms);
}

}  // namespace

std::string PolicyDigest(const policy::Policy& policy) {
  std::vector<std::string> mx;
  for (std::string pattern : policy.mx) {
    std::transform(pattern.begin(), pattern.end(), pattern.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    mx.push_back(std::move(pattern));
  }
  std::sort(mx.begin(), mx.end());
  mx.erase(std::unique(mx.begin(), mx.end()), mx.end());
  std::string canonical = "version: " + policy.version +
                          "\nmode: " + std::string(policy::ModeName(policy.mode)) +
                          "\nmax_age: " + std::to_string(policy.max_age) + "\n";
  for (const auto& pattern : mx) canonical += "mx: " + pattern + "\n";
  return Sha256Hex(canonical);
}

HistoryJudgement JudgeHistory(const PolicyHistory& before, const DomainReport& report,
                              std::int64_t now_ms) {
  HistoryJudgement out{before, {}};
  const bool observed = report.sts_record.valid && report.sts_record.id.has_value() &&
                        report.policy.valid && report.policy.policy.has_value();
  if (observed) {
    const policy::Policy& policy = *report.policy.policy;
    const std::string& id = *report.sts_record.id;
    const std::string digest = PolicyDigest(policy);
    const std::string mode(policy::ModeName(policy.mode));
    PolicyHistory& h = out.after;
    if (!before.Known()) {  // first sight: a baseline
      h = PolicyHistory{};
      h.first_seen_ms = now_ms;
      h.id_digest = digest;
      h.id_first_seen_ms = now_ms;
    } else {
      const bool id_changed = id != before.id;
      const bool content_changed = digest != before.digest;
      if (content_changed) h.first_seen_ms = now_ms;
      if (id_changed) {
        h.previous_id = before.id;
        h.id_digest = digest;
        h.id_first_seen_ms = now_ms;
        // Needless only when no sender can hold anything else under the old id: the content
        // is the same and no silent change was pending under the old id.
        const bool needless = !content_changed && before.digest == before.id_digest;
        h.id_bump_until_ms = needless ? Later(now_ms, policy.max_age) : 0;
      } else if (content_changed) {
        h.id_bump_until_ms = 0;  // what the bump note described is gone
      }
      if (before.mode == kEnforce && mode != kEnforce) {
        // Senders that fetched the enforce policy just before the change cache it for its
        // max_age: within that window some still enforce, the rest no longer do.
        h.downgraded_at_ms = now_ms;
        h.downgraded_until_ms = Later(now_ms, before.max_age);
        h.downgraded_to = mode;
      } else if (mode == kEnforce && h.downgraded_until_ms > now_ms) {
        h.downgraded_until_ms = now_ms;  // enforce again: the downgrade is over
      }
    }
    h.id = id;
    h.digest = digest;
    h.mode = mode;
    h.max_age = policy.max_age;
  }
  out.issues = HistoryIssues(out.after, now_ms);
  return out;
}

std::vector<Issue> HistoryIssues(const PolicyHistory& h, std::int64_t now_ms) {
  std::vector<Issue> issues;
  if (!h.Known()) return issues;
  if (h.downgraded_until_ms > now_ms) {
    issues.push_back({IssueCode::kModeDowngraded, DefaultSeverity(IssueCode::kModeDowngraded),
                      "the policy mode went from enforce to " + h.downgraded_to + " (seen " +
                          Time(h.downgraded_at_ms) +
                          "): senders stop enforcing as their cached policy expires, " + "by " +
                          Time(h.downgraded_until_ms) + " (the enforce policy's max_age)"});
  }
  if (h.digest != h.id_digest) {
    issues.push_back(
        {IssueCode::kPolicyChangedWithoutIdChange,
         DefaultSeverity(IssueCode::kPolicyChangedWithoutIdChange),
         "the policy changed (seen " + Time(h.first_seen_ms) +
             ") but the TXT record still has id=" + h.id + " (seen " + Time(h.id_first_seen_ms) +
             " with a different policy): senders that cached the policy under this id keep the "
             "old one until it expires; publish a new id whenever the policy changes "
             "(RFC 8461 §3.1)"});
  }
  if (h.id_bump_until_ms > now_ms) {
    issues.push_back({IssueCode::kPolicyIdChangedWithoutChange,
                      DefaultSeverity(IssueCode::kPolicyIdChangedWithoutChange),
                      "the TXT id changed from " + h.previous_id + " to " + h.id + " (seen " +
                          Time(h.id_first_seen_ms) +
                          ") but the policy did not: senders refetch an identical policy"});
  }
  return issues;
}

std::optional<std::int64_t> NextHistoryExpiry(const PolicyHistory& h, std::int64_t now_ms) {
  std::optional<std::int64_t> next;
  for (std::int64_t until : {h.id_bump_until_ms, h.downgraded_until_ms}) {
    if (until > now_ms && (!next || until < *next)) next = until;
  }
  return next;
}

HistoryReport HistorySummary(const PolicyHistory& h, const DomainReport& report) {
  HistoryReport out;
  if (h.Known() && report.policy.valid && report.policy.policy &&
      PolicyDigest(*report.policy.policy) == h.digest) {
    out.policy_first_seen_ms = h.first_seen_ms;
  }
  if (!h.previous_id.empty()) out.previous_id = h.previous_id;
  if (h.downgraded_at_ms != 0) {
    out.mode_downgraded_at_ms = h.downgraded_at_ms;
    out.mode_downgraded_until_ms = h.downgraded_until_ms;
  }
  return out;
}

}  // namespace mtasts::history
