#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>

#include "agent/result_store.h"
#include "agent/state/state_file.h"

namespace mtasts::agent {

/// Saves the store to the state file from a thread of its own, at most every two seconds and
/// only when something changed, and once more when stopped, so that a restart carries on where
/// the daemon was (README "Lifecycle"). A failed save is logged once and retried at the next
/// change.
class Persister {
 public:
  Persister(const StateFile& file, const ResultStore& store);
  ~Persister();  // Stop()
  Persister(const Persister&) = delete;
  Persister& operator=(const Persister&) = delete;

  /// Starts the thread; throws std::system_error when none can be started.
  void Start();
  /// The store changed: save it soon.
  void MarkDirty();
  /// One last save, whatever happened since the previous one; then the thread ends. Idempotent.
  void Stop();

 private:
  void Loop();

  const StateFile& file_;
  const ResultStore& store_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool dirty_ = false;     // guarded by mutex_
  bool stopping_ = false;  // guarded by mutex_
  std::thread thread_;
};

}  // namespace mtasts::agent
