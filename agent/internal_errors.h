#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <utility>

namespace mtasts::agent {

/// The kinds of daemon threads whose escaped exceptions are caught, logged and counted: the
/// values of the `thread` label of mta_sts_exporter_internal_errors_total (README "Metrics"),
/// a fixed set so the label stays bounded.
enum class ThreadKind { kScheduler, kCheck, kWebhook, kHttp, kPersist };

inline constexpr std::array<ThreadKind, 5> kAllThreadKinds = {
    ThreadKind::kScheduler, ThreadKind::kCheck, ThreadKind::kWebhook, ThreadKind::kHttp,
    ThreadKind::kPersist};

/// "scheduler", "check", "webhook", "http" or "persist".
std::string_view ThreadKindName(ThreadKind kind);

/// Counts exceptions that escaped a unit of work (a bug, or resources such as threads running
/// out): the thread logs it, counts it here and carries on instead of ending the process.
/// Thread-safe; Record never throws.
class InternalErrors {
 public:
  /// Logs `what` at error level with the thread kind, then counts it.
  void Record(ThreadKind kind, std::string_view what) noexcept;
  std::uint64_t Count(ThreadKind kind) const;
  /// Every kind together: changes whenever any count does.
  std::uint64_t Total() const;

  /// The daemon's counters, shared by all its threads (what /metrics shows).
  static InternalErrors& Process();

 private:
  std::array<std::atomic<std::uint64_t>, kAllThreadKinds.size()> counts_{};
  std::atomic<std::uint64_t> total_{0};
};

/// Inside a catch block: the message of the exception being handled (what(), or a note that it
/// was not a std::exception).
std::string CurrentExceptionMessage();

/// Runs `work`; an exception that escapes it is recorded (logged and counted) under `kind` in
/// the process counters, its message prefixed with `context` (say which webhook, which domain),
/// and swallowed. False when that happened.
template <class Work>
bool RunGuarded(ThreadKind kind, std::string_view context, Work&& work) noexcept {
  try {
    std::forward<Work>(work)();
    return true;
  } catch (...) {
    std::string what;
    try {
      what = std::string(context) + (context.empty() ? "" : ": ") + CurrentExceptionMessage();
    } catch (...) {
      // Not even the message could be had (memory): count it all the same.
    }
    InternalErrors::Process().Record(kind, what);
    return false;
  }
}

}  // namespace mtasts::agent
