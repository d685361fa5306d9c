#pragma once

#include <map>
#include <string>

#include "agent/result_store.h"
#include "base/result.h"

namespace mtasts::agent {

/// The last posture of every domain, kept in `<state_dir>/state.json` so a restart serves
/// metrics from the first scrape and never counts as a posture change.
class StateFile {
 public:
  explicit StateFile(std::string state_dir);

  /// Writes atomically: a temp file in the same directory, fsync, rename over the old file,
  /// fsync of the directory. A crash at any point leaves the old or the new file, whole.
  Result<bool> Save(const Snapshot& snapshot) const;

  /// Domain states as last saved; empty when there is no file yet. A corrupt file is an error
  /// (the caller logs it and starts fresh rather than refusing to run).
  Result<std::map<std::string, DomainState>> Load() const;

  const std::string& path() const { return path_; }

 private:
  std::string dir_;
  std::string path_;
};

}  // namespace mtasts::agent
