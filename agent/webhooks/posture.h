#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "collectors/report/report.h"

namespace mtasts::agent::webhooks {

/// What a domain's posture is, for change detection (README "Webhooks"): enforcement, mode, the TXT
/// id, the policy's mx patterns and max_age, record presence, and the active issue codes.
struct Posture {
  bool enforced = false;
  std::string mode = "absent";  // enforce | testing | none | absent (no valid policy)
  std::optional<std::string> sts_id;
  std::vector<std::string> mx;
  std::optional<std::uint32_t> max_age;
  bool sts_record_present = false;
  bool policy_present = false;  // a valid policy
  bool tls_rpt_present = false;
  std::map<std::string, std::string> issues;  // code -> severity

  friend bool operator==(const Posture&, const Posture&) = default;
};

Posture PostureFromReport(const DomainReport& report);
nlohmann::json PostureToJson(const Posture& posture);
Result<Posture> PostureFromJson(const nlohmann::json& json);

struct Change {
  std::string field;
  nlohmann::json from;
  nlohmann::json to;
};

/// One change per field that differs, in a fixed field order.
std::vector<Change> Diff(const Posture& before, const Posture& after);

/// A downgrade: mode enforce -> testing/none/absent, enforced -> not enforced, or a critical
/// or high issue that was not active before.
bool IsDowngrade(const Posture& before, const Posture& after);

/// Deterministic: the same change of the same domain has the same id, so one re-detected
/// after a crash is recognisably the same event (receivers deduplicate on it). `sequence`
/// counts the domain's committed changes, so A->B, B->A, A->B again get different ids.
std::string EventId(const std::string& domain, std::uint64_t sequence, const Posture& before,
                    const Posture& after);

/// The damping state of one domain, persisted with its state.
struct TrackerState {
  std::optional<Posture> committed;  // the posture that counts; unset before the first check
  std::optional<Posture> candidate;  // a different posture seen, awaiting confirmation
  int seen = 0;                      // consecutive checks that saw the candidate
  std::uint64_t sequence = 0;        // changes committed so far (for event ids)
};
nlohmann::json TrackerToJson(const TrackerState& state);
TrackerState TrackerFromJson(const nlohmann::json& json);

struct Observation {
  bool changed = false;        // a change was committed: emit an event
  bool pending = false;        // a candidate awaits confirmation: re-check soon
  Posture before;              // set when changed
  Posture after;               // set when changed
  std::uint64_t sequence = 0;  // the committed change's number, when changed
};

/// Feeds one check's posture to the damping state machine. The first posture is a baseline
/// (no event). A different posture counts once seen on `confirmations` consecutive checks,
/// except a policy that disappears (policy_missing or sts_record_missing: a definite answer,
/// not a failure to reach it), which counts at once. Callers pass only complete checks: a check
/// whose lookups went unanswered says nothing about the posture.
Observation Observe(TrackerState& state, const Posture& now, int confirmations);

}  // namespace mtasts::agent::webhooks
