#include "agent/scheduler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <map>
#include <set>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "agent/internal_errors.h"

namespace mtasts::agent {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;

constexpr std::int64_t kMinute = 60 * 1000;
constexpr std::int64_t kHour = 60 * kMinute;

config::ScheduleSettings Schedule() {
  config::ScheduleSettings s;
  s.min_interval = minutes(5);
  s.max_interval = hours(24);
  s.dns_interval = hours(1);
  s.max_concurrent_checks = 4;
  return s;
}

DomainReport WithMaxAge(std::uint32_t max_age) {
  DomainReport r;
  r.policy.valid = true;
  policy::Policy p;
  p.version = "STSv1";
  p.mode = policy::Mode::kEnforce;
  p.max_age = max_age;
  r.policy.policy = p;
  r.sts_record.valid = true;
  r.sts_record.id = "id1";
  return r;
}

TEST(NextFullCheck, FollowsMaxAgeWithinTheBounds) {
  const auto s = Schedule();
  const std::int64_t t0 = 1'000'000'000'000;
  // jitter 0: exactly the clamped max_age
  EXPECT_EQ(NextFullCheckMs(WithMaxAge(3600), 0, s, t0, 0.0), t0 + kHour);
  EXPECT_EQ(NextFullCheckMs(WithMaxAge(60), 0, s, t0, 0.0), t0 + 5 * kMinute);     // min
  EXPECT_EQ(NextFullCheckMs(WithMaxAge(604800), 0, s, t0, 0.0), t0 + 24 * kHour);  // max
  // no valid policy: min_interval
  EXPECT_EQ(NextFullCheckMs(DomainReport{}, 0, s, t0, 0.0), t0 + 5 * kMinute);
  // jitter takes at most 10% off, never below min_interval
  EXPECT_EQ(NextFullCheckMs(WithMaxAge(3600), 0, s, t0, 0.999), t0 + kHour - 6 * kMinute + 360);
  EXPECT_EQ(NextFullCheckMs(DomainReport{}, 0, s, t0, 0.999), t0 + 5 * kMinute);
  for (double jitter : {0.0, 0.3, 0.7, 0.99}) {
    for (std::uint32_t max_age : {0U, 1U, 300U, 86400U, 31557600U}) {
      auto next = NextFullCheckMs(WithMaxAge(max_age), 0, s, t0, jitter);
      EXPECT_GE(next - t0, 5 * kMinute);
      EXPECT_LE(next - t0, 24 * kHour);
    }
  }
}

TEST(NextFullCheck, FailuresBackOffExponentiallyUpToTheMaximum) {
  const auto s = Schedule();
  DomainReport failed = WithMaxAge(86400);
  failed.check_complete = false;
  EXPECT_TRUE(IsFailedCheck(failed));
  EXPECT_EQ(NextFullCheckMs(failed, 1, s, 0, 0.0), 5 * kMinute);
  EXPECT_EQ(NextFullCheckMs(failed, 2, s, 0, 0.0), 10 * kMinute);
  EXPECT_EQ(NextFullCheckMs(failed, 3, s, 0, 0.0), 20 * kMinute);
  EXPECT_EQ(NextFullCheckMs(failed, 30, s, 0, 0.0), 24 * kHour);
}

/// A scheduler on a fake clock with fake checks: time only moves when the test says so.
struct Harness {
  std::int64_t now = 1'700'000'000'000;
  std::map<std::string, std::uint32_t> max_age;  // per domain
  std::map<std::string, std::string> ids;        // the published _mta-sts id
  std::map<std::string, int> full_checks;
  int id_checks = 0;
  std::map<std::string, std::int64_t> planned;
  std::set<std::string> check_throws;   // their full checks throw, as std::async does when
                                        // no thread is left
  std::set<std::string> id_throws;      // their id checks throw something not a std::exception
  std::set<std::string> report_throws;  // handling their report throws
  Scheduler scheduler;

  Harness()
      : scheduler(
            Schedule(), [this] { return now; },
            [this](const std::string& d) {
              ++full_checks[d];
              if (check_throws.count(d) != 0) {
                throw std::system_error(
                    std::make_error_code(std::errc::resource_unavailable_try_again),
                    "cannot start a thread");
              }
              auto r = WithMaxAge(max_age.count(d) ? max_age[d] : 86400);
              r.domain = d;
              r.sts_record.id = ids.count(d) ? ids[d] : "id1";
              return CheckOutcome{r, {}};
            },
            [this](const std::string& d) -> Result<std::optional<std::string>> {
              ++id_checks;
              if (id_throws.count(d) != 0) throw 42;
              return std::optional<std::string>(ids.count(d) ? ids[d] : "id1");
            },
            [this](const std::string& d, CheckOutcome, std::int64_t next) {
              planned[d] = next;
              if (report_throws.count(d) != 0) throw std::out_of_range("map::at");
            }) {}

  void Advance(std::int64_t ms) {
    now += ms;
    scheduler.Tick();
  }
};

TEST(Scheduler, FirstRoundIsSpreadThenFollowsMaxAge) {
  Harness h;
  h.max_age = {{"a.test", 3600}, {"b.test", 60}, {"c.test", 604800}};
  h.scheduler.SetDomains({"a.test", "b.test", "c.test"});
  EXPECT_FALSE(h.scheduler.FirstRoundDone());
  h.scheduler.Tick();  // only the first domain is due at once; the rest are spread
  EXPECT_EQ(h.full_checks.size(), 1U);
  h.Advance(1000);
  EXPECT_EQ(h.full_checks.size(), 3U);
  EXPECT_TRUE(h.scheduler.FirstRoundDone());
  for (const auto& [domain, next] : h.planned) {
    SCOPED_TRACE(domain);
    const std::int64_t delay = next - h.now;
    const std::int64_t expected =
        std::clamp<std::int64_t>(std::int64_t{h.max_age[domain]} * 1000, 5 * kMinute, 24 * kHour);
    EXPECT_LE(delay, expected);
    EXPECT_GE(delay, std::max(expected * 9 / 10 - 1000, 5 * kMinute - 1000));
    EXPECT_EQ(h.scheduler.NextCheckMs(domain), next);
  }
  // Nothing runs again before it is due (DNS re-reads aside).
  h.Advance(4 * kMinute);
  EXPECT_EQ(h.full_checks["b.test"], 1);
  h.Advance(2 * kMinute);
  EXPECT_EQ(h.full_checks["b.test"], 2);  // b's max_age of 60 s is held to min_interval
  EXPECT_EQ(h.full_checks["a.test"], 1);
}

TEST(Scheduler, ChangedIdTriggersAFullCheckAtOnce) {
  Harness h;
  h.max_age = {{"a.test", 604800}};
  h.scheduler.SetDomains({"a.test"});
  h.scheduler.Tick();
  ASSERT_EQ(h.full_checks["a.test"], 1);
  h.Advance(kHour);  // the dns_interval re-read: same id, no full check
  EXPECT_EQ(h.id_checks, 1);
  EXPECT_EQ(h.full_checks["a.test"], 1);
  h.ids["a.test"] = "id2";
  h.Advance(kHour);
  EXPECT_EQ(h.id_checks, 2);
  EXPECT_EQ(h.full_checks["a.test"], 2);  // new id: checked in the same tick
}

TEST(Scheduler, RemovedDomainsAreForgottenAndRestoredPlansKept) {
  Harness h;
  h.scheduler.SetDomains({"a.test", "b.test"}, {{"b.test", {h.now + 2 * kHour, "id1"}}});
  h.Advance(1000);
  EXPECT_EQ(h.full_checks["a.test"], 1);
  EXPECT_EQ(h.full_checks.count("b.test"), 0U) << "restored plan is in the future";
  EXPECT_EQ(h.scheduler.NextCheckMs("b.test"), h.now - 1000 + 2 * kHour);
  h.scheduler.SetDomains({"b.test"});
  EXPECT_FALSE(h.scheduler.NextCheckMs("a.test").has_value());
  h.Advance(25 * kHour);
  EXPECT_EQ(h.full_checks["a.test"], 1);
  EXPECT_GE(h.full_checks["b.test"], 1);
}

// A check that throws is that check's failure: counted as an internal error, retried after the
// backoff of a failed check, and the other domains go on. It never ends the scheduler.
TEST(Scheduler, ACheckThatThrowsIsAFailedCheckWithBackoff) {
  Harness h;
  const auto& errors = InternalErrors::Process();
  const std::uint64_t checks_before = errors.Count(ThreadKind::kCheck);
  h.check_throws = {"a.test"};
  h.scheduler.SetDomains({"a.test", "b.test"});
  ASSERT_NO_THROW(h.Advance(1000));
  EXPECT_EQ(h.full_checks["a.test"], 1);
  EXPECT_EQ(h.full_checks["b.test"], 1) << "the other domain is checked all the same";
  EXPECT_EQ(errors.Count(ThreadKind::kCheck), checks_before + 1);
  EXPECT_EQ(h.planned.count("a.test"), 0U) << "no report: the last one stays published";
  EXPECT_EQ(h.planned.count("b.test"), 1U);
  EXPECT_TRUE(h.scheduler.FirstRoundDone()) << "readiness does not wait for a throwing check";
  // Backoff of a failed check: min_interval, then twice that (less up to 10% jitter).
  EXPECT_EQ(h.scheduler.NextCheckMs("a.test"), h.now + 5 * kMinute);
  h.Advance(5 * kMinute - 1);
  EXPECT_EQ(h.full_checks["a.test"], 1);
  h.Advance(1);
  EXPECT_EQ(h.full_checks["a.test"], 2);
  EXPECT_EQ(errors.Count(ThreadKind::kCheck), checks_before + 2);
  const std::int64_t second_delay = *h.scheduler.NextCheckMs("a.test") - h.now;
  EXPECT_GE(second_delay, 9 * kMinute);
  EXPECT_LE(second_delay, 10 * kMinute);
  // Once the check stops throwing, it reports and the schedule follows max_age again.
  h.check_throws.clear();
  h.Advance(second_delay);
  EXPECT_EQ(h.full_checks["a.test"], 3);
  ASSERT_EQ(h.planned.count("a.test"), 1U);
  EXPECT_GT(h.planned["a.test"] - h.now, 20 * kHour);
  EXPECT_EQ(errors.Count(ThreadKind::kCheck), checks_before + 2);
}

TEST(Scheduler, AnIdCheckOrAReportHandlerThatThrowsIsCountedAndRescheduled) {
  Harness h;
  const auto& errors = InternalErrors::Process();
  const std::uint64_t checks_before = errors.Count(ThreadKind::kCheck);
  const std::uint64_t scheduler_before = errors.Count(ThreadKind::kScheduler);
  h.scheduler.SetDomains({"a.test"});
  h.scheduler.Tick();
  ASSERT_EQ(h.full_checks["a.test"], 1);
  // The dns_interval re-read throws something that is not a std::exception.
  h.id_throws = {"a.test"};
  ASSERT_NO_THROW(h.Advance(kHour));
  EXPECT_EQ(h.id_checks, 1);
  EXPECT_EQ(errors.Count(ThreadKind::kCheck), checks_before + 1);
  EXPECT_EQ(h.full_checks["a.test"], 1) << "a failed re-read is no reason for a full check";
  h.Advance(kHour);
  EXPECT_EQ(h.id_checks, 2) << "read again at the next dns_interval";
  EXPECT_EQ(errors.Count(ThreadKind::kCheck), checks_before + 2);
  h.id_throws.clear();

  // The report's handling throws: counted under the scheduler, and the domain is not left
  // marked as running (it is checked again when due).
  h.report_throws = {"a.test"};
  const std::int64_t due = *h.scheduler.NextCheckMs("a.test");
  ASSERT_NO_THROW(h.Advance(due - h.now));
  EXPECT_EQ(h.full_checks["a.test"], 2);
  EXPECT_EQ(errors.Count(ThreadKind::kScheduler), scheduler_before + 1);
  const std::int64_t again = *h.scheduler.NextCheckMs("a.test");
  EXPECT_GT(again, h.now);
  h.report_throws.clear();
  h.Advance(again - h.now);
  EXPECT_EQ(h.full_checks["a.test"], 3);
}

// The same on the worker threads: an exception once ended the process (std::terminate).
TEST(Scheduler, WorkerThreadsSurviveAThrowingCheck) {
  std::atomic<int> calls{0};
  const std::uint64_t before = InternalErrors::Process().Count(ThreadKind::kCheck);
  Scheduler scheduler(
      Schedule(),
      [] {
        return std::chrono::duration_cast<milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
      },
      [&calls](const std::string&) -> CheckOutcome {
        ++calls;
        throw std::runtime_error("bad Result access");
      },
      [](const std::string&) -> Result<std::optional<std::string>> {
        return std::optional<std::string>();
      },
      [](const std::string&, CheckOutcome, std::int64_t) {});
  scheduler.SetDomains({"a.test", "b.test", "c.test"});
  scheduler.Start();
  // The error is counted before the worker finishes its bookkeeping: wait for both.
  for (int i = 0; i < 500 && (InternalErrors::Process().Count(ThreadKind::kCheck) < before + 3 ||
                              !scheduler.FirstRoundDone());
       ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_EQ(calls, 3) << "each domain once; the next try is a backoff (5 minutes) away";
  EXPECT_EQ(InternalErrors::Process().Count(ThreadKind::kCheck), before + 3);
  EXPECT_TRUE(scheduler.FirstRoundDone());
  scheduler.Stop();  // the workers are still there to be joined
}

}  // namespace
}  // namespace mtasts::agent
