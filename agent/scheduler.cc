#include "agent/scheduler.h"

#include <algorithm>
#include <limits>
#include <string_view>
#include <system_error>

#include "agent/internal_errors.h"
#include "agent/log.h"

namespace mtasts::agent {
namespace {

constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kStartSpacingMs = 20;  // start-up spread: one new domain per 20 ms

}  // namespace

bool IsFailedCheck(const DomainReport& report) {
  return !report.check_complete || report.HasIssue(IssueCode::kPolicyFetchFailed);
}

std::int64_t NextFullCheckMs(const DomainReport& report, int failures,
                             const config::ScheduleSettings& schedule, std::int64_t finished_ms,
                             double jitter) {
  const std::int64_t min_ms = schedule.min_interval.count();
  const std::int64_t max_ms = schedule.max_interval.count();
  std::int64_t delay = min_ms;
  if (failures > 0) {
    // Capped exponential backoff: min, 2*min, 4*min ... up to max_interval.
    delay = min_ms;
    for (int i = 1; i < failures && delay < max_ms; ++i) delay *= 2;
    delay = std::min(delay, max_ms);
  } else if (report.policy.valid) {
    // RFC 8461 §3.2: max_age is how long senders cache the policy; re-check within it.
    const std::int64_t max_age_ms = static_cast<std::int64_t>(report.policy.policy->max_age) * 1000;
    delay = std::clamp(max_age_ms, min_ms, max_ms);
  }
  const auto jittered =
      static_cast<std::int64_t>(static_cast<double>(delay) * (1.0 - 0.1 * jitter));
  return finished_ms + std::max(jittered, min_ms);
}

Scheduler::Scheduler(config::ScheduleSettings schedule, Clock clock, FullCheck full_check,
                     IdCheck id_check, OnReport on_report)
    : clock_(std::move(clock)),
      full_check_(std::move(full_check)),
      id_check_(std::move(id_check)),
      on_report_(std::move(on_report)),
      schedule_(schedule) {}

Scheduler::~Scheduler() {
  Stop();
}

void Scheduler::Enqueue(const std::string& key, Entry& entry) {
  queue_.erase({entry.queued_at, &key});
  entry.queued_at = std::min(entry.next_full_ms, entry.next_dns_ms);
  queue_.insert({entry.queued_at, &key});
  changed_.notify_one();
}

void Scheduler::SetDomains(const std::vector<std::string>& domains,
                           const std::map<std::string, Known>& known) {
  std::lock_guard lock(mutex_);
  const std::int64_t now = clock_();
  const bool first = entries_.empty() && first_round_left_ == 0;
  // Views of the caller's names, not copies: at 100,000 domains a copy is megabytes.
  std::vector<std::string_view> wanted(domains.begin(), domains.end());
  std::sort(wanted.begin(), wanted.end());
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (!std::binary_search(wanted.begin(), wanted.end(), std::string_view(it->first))) {
      queue_.erase({it->second.queued_at, &it->first});
      if (it->second.awaiting_first) --first_round_left_;
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  std::vector<const std::string*> added;
  for (const auto& domain : domains) {
    if (entries_.count(domain) == 0) added.push_back(&domain);
  }
  // Spread new domains so thousands do not all fire in the first second.
  const std::int64_t window = std::min<std::int64_t>(
      schedule_.min_interval.count(), static_cast<std::int64_t>(added.size()) * kStartSpacingMs);
  for (std::size_t i = 0; i < added.size(); ++i) {
    const std::int64_t offset = added.size() > 1 ? window * static_cast<std::int64_t>(i) /
                                                       static_cast<std::int64_t>(added.size())
                                                 : 0;
    Entry entry;
    auto k = known.find(*added[i]);
    if (k != known.end() && k->second.next_check_ms > now) {
      // Restored: keep the plan (within max_interval) and re-read the id soon, in case it
      // changed while we were down.
      entry.next_full_ms = std::min(k->second.next_check_ms, now + schedule_.max_interval.count());
      entry.next_dns_ms = std::min(entry.next_full_ms, now + offset);
      entry.sts_id = k->second.sts_id;
      entry.checked = true;
    } else {
      entry.next_full_ms = now + offset;
      entry.next_dns_ms = kNever;
      if (k != known.end()) entry.sts_id = k->second.sts_id;
      entry.awaiting_first = first;
    }
    auto [it, inserted] = entries_.emplace(*added[i], entry);
    if (inserted && entry.awaiting_first) ++first_round_left_;
    Enqueue(it->first, it->second);
  }
}

void Scheduler::SetSchedule(const config::ScheduleSettings& schedule) {
  std::lock_guard lock(mutex_);
  schedule_ = schedule;
  const std::int64_t latest = clock_() + schedule.max_interval.count();
  for (auto& [domain, entry] : entries_) {
    if (entry.running) continue;
    entry.next_full_ms = std::min(entry.next_full_ms, latest);
    Enqueue(domain, entry);
  }
}

void Scheduler::RecheckAt(const std::string& domain, std::int64_t at_ms) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(domain);
  if (it == entries_.end() || it->second.running) return;
  it->second.next_full_ms = std::min(it->second.next_full_ms, at_ms);
  Enqueue(it->first, it->second);
}

std::optional<std::pair<std::string, Scheduler::Work>> Scheduler::TakeDue(std::int64_t now) {
  if (queue_.empty() || queue_.begin()->first > now) return std::nullopt;
  const std::string domain = *queue_.begin()->second;
  queue_.erase(queue_.begin());
  Entry& entry = entries_.at(domain);
  entry.running = true;
  return std::make_pair(domain, now >= entry.next_full_ms ? Work::kFull : Work::kDns);
}

void Scheduler::Run(const std::string& domain, Work work) {
  if (work == Work::kDns) {
    // An exception from the lookup is that lookup's failure (counted as an internal error): the
    // id is read again at the next dns_interval, as after a DNS error.
    Result<std::optional<std::string>> id = Error{"the id check failed"};
    RunGuarded(ThreadKind::kCheck, "id check of " + domain, [&] { id = id_check_(domain); });
    std::lock_guard lock(mutex_);
    auto it = entries_.find(domain);
    if (it == entries_.end()) return;  // removed meanwhile
    Entry& entry = it->second;
    entry.running = false;
    const std::int64_t now = clock_();
    if (id && id.value() != entry.sts_id) {
      entry.next_full_ms = now;  // a new policy id: senders refetch now, so do we
    } else {
      entry.next_dns_ms = now + schedule_.dns_interval.count();
    }
    Enqueue(it->first, entry);
    return;
  }

  // An exception from the check (a bug, or no thread left for its lookups) is that check's
  // failure: counted as an internal error, and the domain is checked again after the backoff
  // of a failed check. There is no report, so the last one stays published.
  std::optional<CheckOutcome> outcome;
  RunGuarded(ThreadKind::kCheck, "check of " + domain, [&] { outcome = full_check_(domain); });
  const DomainReport* report = outcome ? &outcome->report : nullptr;
  std::int64_t next = 0;
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(domain);
    if (it == entries_.end()) return;  // removed meanwhile: its report is of no use
    Entry& entry = it->second;
    const std::int64_t now = clock_();
    entry.failures = (!report || IsFailedCheck(*report)) ? entry.failures + 1 : 0;
    std::uniform_real_distribution<double> jitter(0.0, 1.0);
    next = NextFullCheckMs(report ? *report : DomainReport{}, entry.failures, schedule_, now,
                           jitter(random_));
    entry.next_full_ms = next;
    entry.next_dns_ms = now + schedule_.dns_interval.count();
    if (report && report->check_complete) {
      entry.sts_id = report->sts_record.valid ? report->sts_record.id : std::nullopt;
    }
    entry.running = false;
    entry.checked = true;
    if (entry.awaiting_first) {  // tried: readiness must not wait on a domain that throws
      entry.awaiting_first = false;
      --first_round_left_;
    }
    Enqueue(it->first, entry);
  }
  if (outcome) on_report_(domain, std::move(*outcome), next);
}

void Scheduler::RunGuardedWork(const std::string& domain, Work work) {
  // Run handles what a check throws; what escapes it came from the scheduler's own work (the
  // report's handling, memory). The thread carries on, and the domain must not stay marked as
  // running, or it would never be checked again.
  if (RunGuarded(ThreadKind::kScheduler, "scheduling " + domain, [&] { Run(domain, work); })) {
    return;
  }
  RunGuarded(ThreadKind::kScheduler, "rescheduling " + domain, [&] {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(domain);
    if (it == entries_.end() || !it->second.running) return;
    Entry& entry = it->second;
    entry.running = false;
    entry.failures += 1;
    entry.next_full_ms =
        NextFullCheckMs(DomainReport{}, entry.failures, schedule_, clock_(), /*jitter=*/0.0);
    Enqueue(it->first, entry);
  });
}

void Scheduler::Tick() {
  for (;;) {
    std::optional<std::pair<std::string, Work>> due;
    {
      std::lock_guard lock(mutex_);
      due = TakeDue(clock_());
    }
    if (!due) return;
    RunGuardedWork(due->first, due->second);
  }
}

void Scheduler::WorkerLoop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    const std::int64_t now = clock_();
    if (auto due = TakeDue(now)) {
      lock.unlock();
      RunGuardedWork(due->first, due->second);
      lock.lock();
      continue;
    }
    if (queue_.empty()) {
      changed_.wait(lock);
    } else {
      changed_.wait_for(lock, std::chrono::milliseconds(queue_.begin()->first - now));
    }
  }
}

void Scheduler::Start() {
  std::lock_guard lock(mutex_);
  const int count = std::clamp(schedule_.max_concurrent_checks, 1, kMaxWorkers);
  for (int i = 0; i < count; ++i) {
    try {
      workers_.emplace_back([this] { WorkerLoop(); });
    } catch (const std::system_error& e) {
      // Out of threads: run with the workers there are; with none, the daemon cannot start.
      if (workers_.empty()) throw;
      Log(LogLevel::kWarn, "fewer check workers than max_concurrent_checks",
          {{"workers", std::to_string(workers_.size())},
           {"wanted", std::to_string(count)},
           {"error", e.what()}});
      break;
    }
  }
}

void Scheduler::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  for (auto& worker : workers_) worker.join();
  workers_.clear();
}

bool Scheduler::FirstRoundDone() const {
  std::lock_guard lock(mutex_);
  return first_round_left_ == 0;
}

std::optional<std::int64_t> Scheduler::NextCheckMs(const std::string& domain) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(domain);
  if (it == entries_.end()) return std::nullopt;
  return it->second.next_full_ms;
}

}  // namespace mtasts::agent
