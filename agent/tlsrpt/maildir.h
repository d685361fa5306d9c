#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <thread>

#include "agent/tlsrpt/ingest.h"
#include "base/result.h"
#include "base/unique_fd.h"
#include "collectors/tlsrpt/report/mime_unwrap.h"

namespace mtasts::agent::tlsrpt {

/// Makes `dir` usable as the reports Maildir (README "Receiving reports by mail"): `dir` and its
/// `new`, `cur`, `tmp` and `.rejected/{cur,new,tmp}` are made when missing (mode 0700), and each
/// must then be a directory this process can read and write. The error names the path and why.
Result<bool> PrepareMaildir(const std::string& dir);

/// What one pass over `new/` did.
struct MaildirPass {
  int stored = 0;     // moved to cur: stored, or already stored
  int rejected = 0;   // moved to .rejected/cur: not a report for a watched domain
  int deferred = 0;   // left in new: the store is unavailable (the pass stops at the first)
  int skipped = 0;    // left in new: vanished, unreadable, or not movable (logged)
  bool more = false;  // the pass stopped at its bound with messages left in new
};

/// One pass over a Maildir's `new/` (https://cr.yp.to/proknow/maildir.html): each message is
/// read with a size cap and received; a report stored (or already stored) is renamed to
/// `cur/NAME:2,S`, anything that is not a report for a watched domain to
/// `.rejected/cur/NAME:2,`, and a message the store could not take stays in `new/` for a later
/// pass. `tmp/` is never read, names starting with a dot are skipped, symbolic links are not
/// followed (rejected), nor is anything but a regular file read. Not thread-safe.
class MaildirWalker {
 public:
  /// Receives one message; counts its own refusals (Receiver::Receive).
  using ReceiveFn = std::function<IngestOutcome(std::string_view message)>;
  /// Counts a refusal made before a message reached ReceiveFn ("too_large", "malformed").
  using CountRejectedFn = std::function<void(std::string_view reason)>;

  struct Options {
    std::string dir;
    /// The `tlsrpt ingest` command's input cap: a larger message is rejected unread.
    std::size_t max_message = mtasts::tlsrpt::MimeLimits{}.max_message;
    std::size_t max_per_pass = 64;  // messages looked at per pass: bounded work
  };

  MaildirWalker(Options options, ReceiveFn receive, CountRejectedFn count_rejected);

  MaildirPass Pass();

 private:
  enum class Handled { kStored, kRejected, kDeferred, kSkipped };
  Handled One(int new_fd, int cur_fd, int rejected_fd, const std::string& name);
  Handled Reject(int new_fd, int rejected_fd, const std::string& name, std::string_view reason,
                 std::string_view why);
  /// Renames new/NAME into `to_fd` with `flags` as its info; false when it failed (logged).
  bool Move(int new_fd, int to_fd, const std::string& name, std::string_view flags);

  Options options_;
  ReceiveFn receive_;
  CountRejectedFn count_rejected_;
  bool dir_failing_ = false;  // the last pass could not open the Maildir (logged once)
};

/// The daemon's Maildir reader: a thread that runs a MaildirWalker pass when inotify says a
/// message was delivered to `new/` (IN_CREATE for the link(2) of Postfix and qmail, IN_MOVED_TO
/// for a rename(2), IN_CLOSE_WRITE), at start, and every `rescan`
/// (messages delivered while the daemon was down, a missed event, a store that was
/// unavailable). A pass that reached its bound is followed by another at once. Each pass runs
/// under RunGuarded. Start and Stop from one thread.
class MaildirWatcher {
 public:
  MaildirWatcher(MaildirWalker::Options options, std::chrono::milliseconds rescan,
                 MaildirWalker::ReceiveFn receive, MaildirWalker::CountRejectedFn count_rejected);
  ~MaildirWatcher();
  MaildirWatcher(const MaildirWatcher&) = delete;
  MaildirWatcher& operator=(const MaildirWatcher&) = delete;

  /// Starts the thread (std::system_error when there are no threads).
  void Start();
  void Stop();

 private:
  void Run();

  std::string dir_;
  std::chrono::milliseconds rescan_;
  MaildirWalker walker_;  // the thread's own
  UniqueFd inotify_;      // the thread's own; empty: inotify unavailable, rescans only
  UniqueFd wake_;         // an eventfd: Stop writes it
  std::thread thread_;
};

}  // namespace mtasts::agent::tlsrpt
