#include "agent/webhooks/posture.h"

#include <set>

#include "base/sha256.h"
#include "collectors/policy/policy_parser.h"

namespace mtasts::agent::webhooks {
namespace {

using nlohmann::json;

json OptionalJson(const std::optional<std::string>& value) {
  return value ? json(*value) : json(nullptr);
}

}  // namespace

Posture PostureFromReport(const DomainReport& report) {
  Posture p;
  p.enforced = report.enforced;
  if (report.policy.valid && report.policy.policy) {
    p.mode = std::string(policy::ModeName(report.policy.policy->mode));
    p.mx = report.policy.policy->mx;
    p.max_age = report.policy.policy->max_age;
  }
  p.sts_id = report.sts_record.valid ? report.sts_record.id : std::nullopt;
  p.sts_record_present = report.sts_record.found;
  p.policy_present = report.policy.valid;
  p.tls_rpt_present = report.tls_rpt.found;
  for (const auto& issue : report.issues) {
    p.issues[std::string(IssueCodeName(issue.code))] = std::string(SeverityName(issue.severity));
  }
  return p;
}

json PostureToJson(const Posture& p) {
  return {{"enforced", p.enforced},
          {"mode", p.mode},
          {"sts_id", OptionalJson(p.sts_id)},
          {"mx", p.mx},
          {"max_age", p.max_age ? json(*p.max_age) : json(nullptr)},
          {"sts_record_present", p.sts_record_present},
          {"policy_present", p.policy_present},
          {"tls_rpt_present", p.tls_rpt_present},
          {"issues", p.issues}};
}

Result<Posture> PostureFromJson(const json& in) {
  try {
    Posture p;
    p.enforced = in.at("enforced").get<bool>();
    p.mode = in.at("mode").get<std::string>();
    if (!in.at("sts_id").is_null()) p.sts_id = in.at("sts_id").get<std::string>();
    p.mx = in.at("mx").get<std::vector<std::string>>();
    if (!in.at("max_age").is_null()) p.max_age = in.at("max_age").get<std::uint32_t>();
    p.sts_record_present = in.at("sts_record_present").get<bool>();
    p.policy_present = in.at("policy_present").get<bool>();
    p.tls_rpt_present = in.at("tls_rpt_present").get<bool>();
    p.issues = in.at("issues").get<std::map<std::string, std::string>>();
    return p;
  } catch (const json::exception& e) {
    return Error{std::string("malformed posture: ") + e.what()};
  }
}

std::vector<Change> Diff(const Posture& before, const Posture& after) {
  const json a = PostureToJson(before);
  const json b = PostureToJson(after);
  std::vector<Change> changes;
  for (const char* field : {"enforced", "mode", "sts_id", "mx", "max_age", "sts_record_present",
                            "policy_present", "tls_rpt_present"}) {
    if (a.at(field) != b.at(field)) changes.push_back({field, a.at(field), b.at(field)});
  }
  if (before.issues != after.issues) {
    json from = json::array();
    json to = json::array();
    for (const auto& [code, severity] : before.issues) from.push_back(code);
    for (const auto& [code, severity] : after.issues) to.push_back(code);
    changes.push_back({"issues", from, to});
  }
  return changes;
}

bool IsDowngrade(const Posture& before, const Posture& after) {
  if (before.mode == "enforce" && after.mode != "enforce") return true;
  if (before.enforced && !after.enforced) return true;
  for (const auto& [code, severity] : after.issues) {
    if ((severity == "critical" || severity == "high") && before.issues.count(code) == 0)
      return true;
  }
  return false;
}

std::string EventId(const std::string& domain, std::uint64_t sequence, const Posture& before,
                    const Posture& after) {
  const std::string hex =
      Sha256Hex(domain + "\n" + std::to_string(sequence) + "\n" + PostureToJson(before).dump() +
                "\n" + PostureToJson(after).dump());
  return "evt_" + hex.substr(0, 32);
}

json TrackerToJson(const TrackerState& state) {
  return {{"committed", state.committed ? PostureToJson(*state.committed) : json(nullptr)},
          {"candidate", state.candidate ? PostureToJson(*state.candidate) : json(nullptr)},
          {"seen", state.seen},
          {"sequence", state.sequence}};
}

TrackerState TrackerFromJson(const json& in) {
  TrackerState state;
  if (!in.is_object()) return state;
  if (in.contains("committed") && !in["committed"].is_null()) {
    auto p = PostureFromJson(in["committed"]);
    if (p) state.committed = p.value();
  }
  if (in.contains("candidate") && !in["candidate"].is_null()) {
    auto p = PostureFromJson(in["candidate"]);
    if (p) state.candidate = p.value();
  }
  state.seen = in.value("seen", 0);
  state.sequence = in.value("sequence", std::uint64_t{0});
  return state;
}

Observation Observe(TrackerState& state, const Posture& now, int confirmations) {
  Observation out;
  if (!state.committed) {  // a newly watched domain: a baseline, not a change
    state.committed = now;
    state.candidate.reset();
    state.seen = 0;
    return out;
  }
  if (now == *state.committed) {  // back to (or still at) the known posture: a flap at most
    state.candidate.reset();
    state.seen = 0;
    return out;
  }
  if (state.candidate && now == *state.candidate) {
    ++state.seen;
  } else {
    state.candidate = now;
    state.seen = 1;
  }
  const bool policy_disappeared =
      state.committed->policy_present && !now.policy_present &&
      (now.issues.count("policy_missing") > 0 || now.issues.count("sts_record_missing") > 0);
  if (state.seen >= std::max(1, confirmations) || policy_disappeared) {
    out.changed = true;
    out.before = *state.committed;
    out.after = now;
    out.sequence = ++state.sequence;
    state.committed = now;
    state.candidate.reset();
    state.seen = 0;
    return out;
  }
  out.pending = true;
  return out;
}

}  // namespace mtasts::agent::webhooks
