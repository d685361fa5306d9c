#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "agent/result_store.h"
#include "agent/tlsrpt/group_commit.h"
#include "agent/tlsrpt/ingest.h"
#include "agent/tlsrpt/maildir.h"
#include "agent/tlsrpt/store.h"
#include "config/config.h"

namespace mtasts::agent::tlsrpt {

/// The daemon's side of TLS-RPT reports (README "TLS-RPT reports"): the store
/// (`state_dir/tlsrpt.sqlite`), reports received over HTTP stored through a GroupCommitSink, and
/// the counters of `/metrics`, kept in the ResultStore's snapshot. The counters are restored from
/// the store at start and follow every report stored since, by this process or by another one
/// (`tlsrpt ingest`): a thread polls the store's last report id every `poll` and adds the totals
/// of the reports stored after the last one counted. Retention is applied at start and hourly.
/// A store that cannot be opened is retried on every poll; meanwhile reports are answered 503.
/// With `tlsrpt.maildir`, a MaildirWatcher receives the messages delivered there (README
/// "Receiving reports by mail"); it is started with the poller, restarted on a reload that
/// names another directory, and stopped first. Thread-safe.
class Receiver {
 public:
  struct Options {
    std::string path;  // the SQLite file
    std::chrono::milliseconds poll{2000};
    std::chrono::milliseconds retention_every{3600 * 1000};
    /// Called (without the receiver's lock) with a watched domain for which new reports were
    /// stored, so that its codes follow them at a check soon rather than at the next planned
    /// one; at most once per domain per `recheck_every`, however many reports arrive.
    std::function<void(const std::string&)> on_new_reports = nullptr;
    std::chrono::milliseconds recheck_every{60'000};
    /// How often the Maildir is listed whatever inotify says (a missed event, messages that
    /// waited for the store).
    std::chrono::milliseconds maildir_rescan{30'000};
  };
  Receiver(Options options, ResultStore& results);
  ~Receiver();
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  /// The settings and the watched domains (at start and on every reload). When the watched
  /// domains change, the counters are computed again from the store.
  void Configure(const config::TlsRptSettings& settings, DomainSet watched);
  /// Opens the store, restores the counters and starts the poller (and the Maildir reader).
  void Start();
  void Stop();

  /// Receives one report (`kind` empty: not one of RFC 8460's media types), answering once it
  /// is durable; a refusal is counted in the rejected counters.
  IngestOutcome Receive(std::string_view bytes, std::optional<mtasts::tlsrpt::InputKind> kind);
  /// Counts a refusal made before a report reached Receive (rate limit, body over the cap).
  void CountRejected(std::string_view reason);
  /// Whether `domain` (normalised) is watched.
  bool Watches(std::string_view domain);
  /// The aggregate of `GET /v1/tlsrpt`; an error when the store is unavailable.
  Result<DomainAggregate> Aggregate(std::string_view domain, std::int64_t since);
  /// The daemon's latest check of watched `domain` (its MX probes when `probe_mx` is on), to
  /// show beside the reports; nothing before the first check.
  std::optional<DomainReport> LatestCheck(const std::string& domain) const;
  /// What the reports whose date-range ends within `tlsrpt.window` before `now` (Unix s) say of
  /// `domain`, for its scheduled check; an error when the store is unavailable.
  Result<WindowSummary> Window(std::string_view domain, std::int64_t now);

  /// Adds what was stored since the last count to the counters now (the poller does it too).
  void Refresh();

 private:
  std::shared_ptr<Store> OpenedStore();  // mu_ held; null when it cannot be opened
  /// Counts what was stored since; the domains to recheck for it (see Options::on_new_reports).
  std::vector<std::string> RefreshLocked(Store& store);
  void Recheck(const std::vector<std::string>& domains);  // mu_ not held
  void Publish();
  void Run();
  /// Starts or stops the Maildir reader to match maildir_dir_ (maildir_mu_ held).
  void SyncMaildirLocked();

  Options options_;
  ResultStore& results_;

  std::mutex mu_;  // guards everything below
  std::shared_ptr<Store> store_;
  bool open_failing_ = false;  // the last attempt to open the store failed (and was logged)
  std::shared_ptr<GroupCommitSink> sink_;  // over store_
  std::shared_ptr<const DomainSet> watched_ = std::make_shared<const DomainSet>();
  IngestLimits limits_;
  std::chrono::milliseconds retention_ = config::TlsRptSettings{}.retention;
  std::chrono::milliseconds window_ = config::TlsRptSettings{}.window;
  bool counted_ = false;  // counters_ hold the totals up to last_id_
  std::int64_t last_id_ = 0;
  std::map<std::string, DomainTotals> counters_;
  // When each domain was last handed to on_new_reports (watched domains only: bounded).
  std::map<std::string, std::chrono::steady_clock::time_point, std::less<>> rechecked_;
  std::chrono::steady_clock::time_point next_retention_{};
  bool stopping_ = false;
  bool stored_ = false;  // a report was stored: the poller counts at once
  std::condition_variable wake_;
  std::thread thread_;

  // The Maildir reader calls Receive (mu_), so it is started and joined under a lock of its own.
  std::mutex maildir_mu_;         // guards the three below
  bool maildir_running_ = false;  // between Start and Stop
  std::string maildir_dir_;       // tlsrpt.maildir; empty: none
  std::unique_ptr<MaildirWatcher> maildir_;
};

}  // namespace mtasts::agent::tlsrpt
