#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "collectors/policy/policy_parser.h"
#include "collectors/report/report.h"

namespace mtasts::history {

/// What the daemon remembers of one domain's policy between checks, for the history-aware
/// issues the `history` check raises (README "History-aware checks"; a one-shot check has no
/// memory, so it cannot see them):
///
/// - policy_changed_without_id_change (medium): the policy differs from the one first seen
///   under the current TXT id. Senders that cached the policy under that id do not refetch it
///   (RFC 8461 §3.1: the id changes whenever the policy does). Active until the id changes or
///   the policy changes back.
/// - policy_id_changed_without_change (info): the id changed, the policy did not (and no
///   silent change was pending): every sender refetches an identical file. Active for the
///   policy's max_age after the change (when every cache would have expired anyway), or until
///   the next change.
/// - mode_downgraded (high): the mode went from enforce to testing or none. Active for the old
///   policy's max_age after the change was seen (senders' caches of the enforce policy run out
///   within it), or until the mode is enforce again. A policy that merely vanishes or turns
///   invalid is not a downgrade: senders keep their cached policy (RFC 8461 §5.1), other codes
///   already say so, and the proper withdrawal is mode none under a new id (§8.3).
///
/// Only an observation counts: a valid STS record (its id) and a valid policy in the same check.
/// Anything else (a failed fetch, a DNS error) leaves the memory as it was. "The policy" is its
/// canonical content (PolicyDigest): what senders act on, not the bytes of the file.
struct PolicyHistory {
  // The last policy observed.
  std::string id;                  // its TXT id; empty: nothing observed yet
  std::string digest;              // PolicyDigest of it
  std::string mode;                // enforce | testing | none
  std::uint32_t max_age = 0;       // seconds
  std::int64_t first_seen_ms = 0;  // when this content was first seen (the policy's age)
  // What senders associate with `id`: the content first seen under it.
  std::string id_digest;
  std::int64_t id_first_seen_ms = 0;
  std::string previous_id;  // the id before `id`; empty: none seen
  // policy_id_changed_without_change is active until then (0: never).
  std::int64_t id_bump_until_ms = 0;
  // The last enforce -> testing/none; mode_downgraded is active until downgraded_until_ms.
  std::int64_t downgraded_at_ms = 0;  // 0: never seen
  std::int64_t downgraded_until_ms = 0;
  std::string downgraded_to;

  bool Known() const { return !digest.empty(); }
  friend bool operator==(const PolicyHistory&, const PolicyHistory&) = default;
};

/// SHA-256 (hex) of the policy's canonical form: version, mode, max_age and the mx patterns
/// lowercased, sorted and without duplicates. Line endings, field order, repeated mx lines and
/// unknown extension fields (which senders ignore, RFC 8461 §3.2) do not change it.
std::string PolicyDigest(const policy::Policy& policy);

struct HistoryJudgement {
  PolicyHistory after;
  std::vector<Issue> issues;  // the history-aware issues active at the judgement's time
};

/// The judgement of one check against the memory (pure): the memory after it, and the active
/// history-aware issues at `now_ms`. The first observation is a baseline (no issue).
HistoryJudgement JudgeHistory(const PolicyHistory& before, const DomainReport& report,
                              std::int64_t now_ms);

/// The history-aware issues `history` holds active at `now_ms`.
std::vector<Issue> HistoryIssues(const PolicyHistory& history, std::int64_t now_ms);

/// The earliest time after `now_ms` at which an active issue of `history` runs out, if any:
/// when the daemon re-checks so that the issue goes away on time.
std::optional<std::int64_t> NextHistoryExpiry(const PolicyHistory& history, std::int64_t now_ms);

/// What the report shows of `history` (DomainReport::history). The first-seen time only when
/// the report's policy is the remembered one.
HistoryReport HistorySummary(const PolicyHistory& history, const DomainReport& report);

}  // namespace mtasts::history
