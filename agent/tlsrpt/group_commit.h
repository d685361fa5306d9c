#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>

#include "agent/tlsrpt/store.h"

namespace mtasts::agent::tlsrpt {

/// Group commit in front of a Store: concurrent Insert calls are stored together in one
/// transaction, so they share one fsync (synchronous=FULL) instead of queueing for one each.
/// No thread of its own: the first caller to find no commit running commits everything queued
/// (up to `max_batch`) while the others wait; each returns only once its own report is durable.
/// When a batch fails, its reports are tried one by one, so one report cannot fail another's.
/// Thread-safe.
class GroupCommitSink : public ReportSink {
 public:
  explicit GroupCommitSink(Store& store, std::size_t max_batch = 256);

  Result<InsertResult> Insert(const ReportToStore& report) override;

  /// Transactions committed (batches and single retries): for tests and benchmarks.
  std::uint64_t Commits() const;

 private:
  struct Pending;
  void CommitFront(std::unique_lock<std::mutex>& lock);

  Store& store_;
  const std::size_t max_batch_;
  mutable std::mutex mu_;
  std::condition_variable done_;
  std::deque<Pending*> queue_;
  bool committing_ = false;
  std::uint64_t commits_ = 0;
};

}  // namespace mtasts::agent::tlsrpt
