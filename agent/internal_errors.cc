#include "agent/internal_errors.h"

#include <string>

#include "agent/log.h"

namespace mtasts::agent {

std::string_view ThreadKindName(ThreadKind kind) {
  switch (kind) {
    case ThreadKind::kScheduler: return "scheduler";
    case ThreadKind::kCheck: return "check";
    case ThreadKind::kWebhook: return "webhook";
    case ThreadKind::kHttp: return "http";
    case ThreadKind::kPersist: return "persist";
  }
  return "scheduler";
}

void InternalErrors::Record(ThreadKind kind, std::string_view what) noexcept {
  // Counted first: the log line may fail (no memory), the count must not.
  const auto index = static_cast<std::size_t>(kind);
  if (index < counts_.size()) counts_[index].fetch_add(1);
  total_.fetch_add(1);
  try {
    Log(LogLevel::kError, "internal error caught; the thread carries on",
        {{"thread", std::string(ThreadKindName(kind))},
         {"error", what.empty() ? std::string("(no message)") : std::string(what)}});
  } catch (...) {
    // Logging failed too; the counter above still shows it.
  }
}

std::uint64_t InternalErrors::Count(ThreadKind kind) const {
  const auto index = static_cast<std::size_t>(kind);
  return index < counts_.size() ? counts_[index].load() : 0;
}

std::uint64_t InternalErrors::Total() const {
  return total_.load();
}

InternalErrors& InternalErrors::Process() {
  static InternalErrors errors;
  return errors;
}

std::string CurrentExceptionMessage() {
  try {
    throw;
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "an exception that is not a std::exception";
  }
}

}  // namespace mtasts::agent
