#include "agent/state/persister.h"

#include <malloc.h>

#include <chrono>

#include "agent/internal_errors.h"
#include "agent/log.h"

namespace mtasts::agent {

Persister::Persister(const StateFile& file, const ResultStore& store)
    : file_(file), store_(store) {}

Persister::~Persister() {
  Stop();
}

void Persister::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void Persister::MarkDirty() {
  std::lock_guard lock(mutex_);
  dirty_ = true;
}

void Persister::Stop() {
  {
    std::lock_guard lock(mutex_);
    if (!thread_.joinable()) return;
    stopping_ = true;
    dirty_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void Persister::Loop() {
  std::unique_lock lock(mutex_);
  bool last_failed = false;
  for (;;) {
    wake_.wait_for(lock, std::chrono::seconds(2), [this] { return stopping_; });
    const bool stopping = stopping_;
    if (dirty_) {
      dirty_ = false;
      lock.unlock();
      // What escapes a save is logged and counted; the next change is saved afresh.
      RunGuarded(ThreadKind::kPersist, "saving the state", [&] {
        auto saved = file_.Save(*store_.Get());
        if (!saved && !last_failed) {
          Log(LogLevel::kError, "cannot save state", {{"error", saved.error().message}});
        }
        last_failed = !saved;
      });
      // A round of checks frees what its handshakes and lookups held, in holes glibc keeps;
      // after a save (at most every 2 s, only after changes) the free pages go back to the
      // system (README "Memory").
      malloc_trim(0);
      lock.lock();
    }
    if (stopping) return;
  }
}

}  // namespace mtasts::agent
