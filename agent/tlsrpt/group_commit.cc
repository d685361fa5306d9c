#include "agent/tlsrpt/group_commit.h"

#include <optional>
#include <utility>
#include <vector>

namespace mtasts::agent::tlsrpt {

struct GroupCommitSink::Pending {
  const ReportToStore* report = nullptr;
  std::optional<Result<InsertResult>> result;
};

GroupCommitSink::GroupCommitSink(Store& store, std::size_t max_batch)
    : store_(store), max_batch_(max_batch == 0 ? 1 : max_batch) {}

std::uint64_t GroupCommitSink::Commits() const {
  std::lock_guard lock(mu_);
  return commits_;
}

void GroupCommitSink::CommitFront(std::unique_lock<std::mutex>& lock) {
  committing_ = true;
  std::vector<Pending*> batch;
  while (!queue_.empty() && batch.size() < max_batch_) {
    batch.push_back(queue_.front());
    queue_.pop_front();
  }
  lock.unlock();
  std::vector<ReportToStore> reports;
  reports.reserve(batch.size());
  for (const Pending* p : batch) reports.push_back(*p->report);
  std::uint64_t commits = 1;
  std::vector<Result<InsertResult>> outcomes;
  outcomes.reserve(batch.size());
  auto results = store_.InsertBatch(reports);
  if (results) {
    for (std::size_t i = 0; i < batch.size(); ++i) outcomes.emplace_back(results.value()[i]);
  } else if (batch.size() == 1) {
    outcomes.emplace_back(results.error());
  } else {
    for (const Pending* p : batch) {
      outcomes.emplace_back(store_.Insert(*p->report));
      ++commits;
    }
  }
  lock.lock();
  // Waiters test their result under the lock (and may wake before this commit ends), so it is
  // written under the lock too.
  for (std::size_t i = 0; i < batch.size(); ++i) batch[i]->result = std::move(outcomes[i]);
  commits_ += commits;
  committing_ = false;
  done_.notify_all();
}

Result<InsertResult> GroupCommitSink::Insert(const ReportToStore& report) {
  Pending me;
  me.report = &report;
  std::unique_lock lock(mu_);
  queue_.push_back(&me);
  while (!me.result) {
    if (committing_) {
      done_.wait(lock);
    } else {
      CommitFront(lock);
    }
  }
  return *std::move(me.result);
}

}  // namespace mtasts::agent::tlsrpt
