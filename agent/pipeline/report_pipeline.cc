#include "agent/pipeline/report_pipeline.h"

#include <chrono>
#include <memory>
#include <optional>
#include <utility>

#include "agent/log.h"
#include "base/duration.h"
#include "base/rfc3339.h"

namespace mtasts::agent {
namespace {

std::string IssueList(const DomainReport& report) {
  std::string out;
  for (const auto& issue : report.issues) {
    if (!out.empty()) out += ',';
    out += IssueCodeName(issue.code);
  }
  return out.empty() ? "-" : out;
}

void LogReport(const std::string& domain, const DomainReport& r, std::int64_t next_check_ms,
               const webhooks::Observation& observation) {
  LogFields fields = {
      {"domain", domain},
      {"enforced", r.enforced ? "true" : "false"},
      {"mode", r.policy.policy ? std::string(policy::ModeName(r.policy.policy->mode)) : "unknown"},
      {"issues", IssueList(r)},
      {"duration", FormatDuration(std::chrono::milliseconds(
                       static_cast<std::int64_t>(r.duration_seconds * 1000)))},
      {"next_check", FormatRfc3339Millis(next_check_ms)}};
  Log(LogLevel::kDebug, "check finished", fields);
  if (observation.changed) {
    Log(LogLevel::kInfo, "posture changed",
        {{"domain", domain},
         {"from", webhooks::PostureToJson(observation.before).dump()},
         {"to", webhooks::PostureToJson(observation.after).dump()},
         {"downgrade",
          webhooks::IsDowngrade(observation.before, observation.after) ? "true" : "false"}});
  }
  for (const auto& issue : r.issues) {
    if (issue.code == IssueCode::kDnsError) {
      Log(LogLevel::kWarn, "lookup failed", {{"domain", domain}, {"error", issue.message}});
    }
  }
}

}  // namespace

ReportPipeline::ReportPipeline(Parts parts) : parts_(std::move(parts)) {}

void ReportPipeline::SetSchedule(const config::ScheduleSettings& schedule) {
  std::lock_guard lock(mutex_);
  schedule_ = schedule;
}

void ReportPipeline::OnReport(const std::string& domain, const CheckOutcome& outcome,
                              std::int64_t next_check_ms) {
  const std::optional<DomainState> current = parts_.store.GetDomain(domain);
  if (!current) return;  // removed by a reload meanwhile
  const std::int64_t now_ms = parts_.now();
  const DomainReport& report = outcome.report;
  const PackedReport packed(report);  // packed before the store's lock is taken
  const webhooks::Posture posture = webhooks::PostureFromReport(report);
  config::ScheduleSettings schedule;
  {
    std::lock_guard lock(mutex_);
    schedule = schedule_;
  }
  // Judge the change on a copy: the events go out before the posture is committed.
  webhooks::TrackerState tracker = current->tracker.Unpack();
  // A check whose lookups went unanswered says nothing about the posture: a DNS outage must not
  // look like a vanished policy.
  const webhooks::Observation observation =
      report.check_complete ? webhooks::Observe(tracker, posture, schedule.confirmations)
                            : webhooks::Observation{};
  if (observation.changed) parts_.emit(domain, observation);
  const Packed<webhooks::TrackerState> packed_tracker(tracker);
  const Packed<history::PolicyHistory> packed_history(outcome.memory_after);
  parts_.store.UpdateDomain(domain, [&](DomainState& state) {
    if (observation.changed) ++state.posture_changes;
    state.tracker = packed_tracker;
    state.history = packed_history;
    state.report = packed;
    state.next_check_ms = next_check_ms;
  });
  if (observation.pending) {
    // A new posture awaits confirmation: look again soon rather than at the next max_age.
    parts_.recheck_at(domain, parts_.now() + schedule.min_interval.count());
  }
  if (auto expiry = history::NextHistoryExpiry(outcome.memory_after, now_ms)) {
    parts_.recheck_at(domain, *expiry);  // so a time-bound issue ends on time
  }
  LogReport(domain, report, next_check_ms, observation);
  parts_.changed();
}

}  // namespace mtasts::agent
