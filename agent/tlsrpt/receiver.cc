#include "agent/tlsrpt/receiver.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <utility>

#include "agent/internal_errors.h"
#include "agent/log.h"
#include "base/clock.h"

namespace mtasts::agent::tlsrpt {
namespace {

void Add(DomainTotals& into, const DomainTotals& more) {
  into.reports += more.reports;
  for (const auto& [key, n] : more.sessions) into.sessions[key] += n;
  for (const auto& [key, n] : more.failed_by_result_type) into.failed_by_result_type[key] += n;
  into.last_end_time = std::max(into.last_end_time, more.last_end_time);
}

std::int64_t NowSeconds() {
  return NowUnixMillis() / 1000;
}

}  // namespace

Receiver::Receiver(Options options, ResultStore& results)
    : options_(std::move(options)), results_(results) {}

Receiver::~Receiver() {
  Stop();
}

void Receiver::Configure(const config::TlsRptSettings& settings, DomainSet watched) {
  {
    std::lock_guard lock(maildir_mu_);
    if (settings.maildir != maildir_dir_) {
      maildir_dir_ = settings.maildir;
      if (maildir_) maildir_->Stop();
      maildir_.reset();
      SyncMaildirLocked();
    }
  }
  std::lock_guard lock(mu_);
  limits_.decode.max_inflated = settings.max_size;
  retention_ = settings.retention;
  window_ = settings.window;
  if (watched != *watched_) {
    watched_ = std::make_shared<const DomainSet>(std::move(watched));
    // Counted again from the store at the next refresh: a domain now watched gets its earlier
    // reports, one no longer watched loses its series. A domain watched before and after keeps
    // its totals unless retention deleted some of its reports meanwhile (a counter reset, as
    // after a restart).
    counted_ = false;
  }
}

std::shared_ptr<Store> Receiver::OpenedStore() {
  if (store_) return store_;
  // state_dir is made by the first save of the state file otherwise, after start-up.
  const std::string dir = std::filesystem::path(options_.path).parent_path().string();
  if (!dir.empty()) mkdir(dir.c_str(), 0750);  // a failure shows as the open's error
  auto opened = Store::Open(options_.path);
  if (!opened) {
    // Retried on every poll: logged when it starts failing, not every 2 s.
    if (!open_failing_) {
      Log(LogLevel::kError, "TLS-RPT report store unavailable; reports are answered 503",
          {{"file", options_.path}, {"error", opened.error().message}});
    }
    open_failing_ = true;
    return nullptr;
  }
  if (open_failing_) Log(LogLevel::kInfo, "TLS-RPT report store opened", {{"file", options_.path}});
  open_failing_ = false;
  store_ = std::shared_ptr<Store>(std::move(opened).value());
  sink_ = std::make_shared<GroupCommitSink>(*store_);
  return store_;
}

void Receiver::Start() {
  Refresh();
  {
    std::lock_guard lock(mu_);
    stopping_ = false;
    thread_ = std::thread(
        [this] { RunGuarded(ThreadKind::kPersist, "the TLS-RPT poller", [this] { Run(); }); });
  }
  // Never with mu_ held: the reader takes mu_ (Receive) while maildir_mu_ waits for it to stop.
  std::lock_guard maildir_lock(maildir_mu_);
  maildir_running_ = true;
  SyncMaildirLocked();
}

void Receiver::SyncMaildirLocked() {
  if (!maildir_running_ || maildir_dir_.empty() || maildir_) return;
  maildir_ = std::make_unique<MaildirWatcher>(
      MaildirWalker::Options{.dir = maildir_dir_}, options_.maildir_rescan,
      [this](std::string_view message) {
        return Receive(message, mtasts::tlsrpt::InputKind::kMessage);
      },
      [this](std::string_view reason) { CountRejected(reason); });
  try {
    maildir_->Start();
  } catch (const std::system_error& e) {
    // No thread or eventfd now: a later reload naming the directory tries again.
    Log(LogLevel::kError, "TLS-RPT Maildir not read", {{"dir", maildir_dir_}, {"error", e.what()}});
    maildir_.reset();
    maildir_dir_.clear();
  }
}

void Receiver::Stop() {
  {
    // First: it stores through this receiver.
    std::lock_guard lock(maildir_mu_);
    maildir_running_ = false;
    if (maildir_) maildir_->Stop();
    maildir_.reset();
  }
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Receiver::Run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    wake_.wait_for(lock, options_.poll, [this] { return stopping_ || stored_; });
    if (stopping_) break;
    stored_ = false;
    const std::shared_ptr<Store> store = OpenedStore();
    if (!store) continue;
    if (std::chrono::steady_clock::now() >= next_retention_) {
      next_retention_ = std::chrono::steady_clock::now() + options_.retention_every;
      const std::int64_t cutoff =
          NowSeconds() - std::chrono::duration_cast<std::chrono::seconds>(retention_).count();
      lock.unlock();
      auto deleted = store->DeleteEndedBefore(cutoff);
      lock.lock();
      if (!deleted) {
        Log(LogLevel::kWarn, "TLS-RPT retention failed", {{"error", deleted.error().message}});
      } else if (deleted.value() > 0) {
        Log(LogLevel::kInfo, "TLS-RPT reports past retention deleted",
            {{"reports", std::to_string(deleted.value())}});
      }
    }
    auto last = store->LastReportId();  // a primary-key lookup: cheap enough to poll
    if (!last) {
      Log(LogLevel::kWarn, "TLS-RPT store not readable", {{"error", last.error().message}});
      continue;
    }
    if (last.value() != last_id_ || !counted_) {
      const std::vector<std::string> fresh = RefreshLocked(*store);
      lock.unlock();
      Recheck(fresh);
      lock.lock();
    }
  }
}

void Receiver::Refresh() {
  std::vector<std::string> fresh;
  {
    std::lock_guard lock(mu_);
    const std::shared_ptr<Store> store = OpenedStore();
    if (store) fresh = RefreshLocked(*store);
  }
  Recheck(fresh);
}

std::vector<std::string> Receiver::RefreshLocked(Store& store) {
  const bool incremental = counted_;
  const std::int64_t after = counted_ ? last_id_ : 0;
  auto delta = store.TotalsAfter(after, *watched_);
  if (!delta) {
    Log(LogLevel::kWarn, "TLS-RPT totals not read", {{"error", delta.error().message}});
    return {};
  }
  if (!counted_) counters_.clear();
  std::vector<std::string> fresh;
  const auto now = std::chrono::steady_clock::now();
  for (const auto& [domain, totals] : delta.value().domains) {
    Add(counters_[domain], totals);
    // A count from scratch (start, new watched domains) is no news: the start-up checks and
    // the scheduled ones read the reports anyway.
    if (!incremental || totals.reports == 0 || !options_.on_new_reports) continue;
    auto [it, first] = rechecked_.try_emplace(domain, now);
    if (!first && now - it->second < options_.recheck_every) continue;
    it->second = now;
    fresh.push_back(domain);
  }
  std::erase_if(rechecked_, [&](const auto& entry) { return !watched_->contains(entry.first); });
  last_id_ = delta.value().through;
  counted_ = true;
  Publish();
  return fresh;
}

void Receiver::Recheck(const std::vector<std::string>& domains) {
  for (const auto& domain : domains) options_.on_new_reports(domain);
}

void Receiver::Publish() {
  results_.Update([this](Snapshot& s) { s.tlsrpt.domains = counters_; });
}

void Receiver::CountRejected(std::string_view reason) {
  // One counter, not the whole of counters_: a flood of refusals costs little each.
  results_.Update([&](Snapshot& s) { ++s.tlsrpt.rejected[std::string(reason)]; });
}

IngestOutcome Receiver::Receive(std::string_view bytes,
                                std::optional<mtasts::tlsrpt::InputKind> kind) {
  std::shared_ptr<GroupCommitSink> sink;
  std::shared_ptr<const DomainSet> watched;
  IngestLimits limits;
  {
    // The store is opened by Start and the poller only: a flood of reports while it cannot be
    // opened costs no attempt (and no log line) each.
    std::lock_guard lock(mu_);
    sink = sink_;
    watched = watched_;
    limits = limits_;
  }
  IngestOutcome outcome;
  if (!sink) {
    // Decoded all the same: a report that is not one is told so, whatever the store's state.
    class Unavailable final : public ReportSink {
     public:
      Result<InsertResult> Insert(const ReportToStore&) override {
        return Error{"the report store could not be opened"};
      }
    } unavailable;
    outcome = Ingest(bytes, kind, *watched, limits, unavailable, NowSeconds());
  } else {
    outcome = Ingest(bytes, kind, *watched, limits, *sink, NowSeconds());
  }
  if (const auto reason = RejectedReason(outcome.answer)) {
    CountRejected(*reason);
  } else if (outcome.answer == Answer::kStored) {
    // The poller counts it at once; several stored together are counted together.
    {
      std::lock_guard lock(mu_);
      stored_ = true;
    }
    wake_.notify_all();
  }
  return outcome;
}

bool Receiver::Watches(std::string_view domain) {
  std::lock_guard lock(mu_);
  return watched_->contains(domain);
}

std::optional<DomainReport> Receiver::LatestCheck(const std::string& domain) const {
  const PackedReport packed = results_.GetReport(domain);
  if (!packed) return std::nullopt;
  return packed.Unpack();
}

Result<DomainAggregate> Receiver::Aggregate(std::string_view domain, std::int64_t since) {
  std::shared_ptr<Store> store;
  {
    std::lock_guard lock(mu_);
    store = store_;
  }
  if (!store) return Error{"the report store is unavailable"};
  return store->Aggregate(domain, since);
}

Result<WindowSummary> Receiver::Window(std::string_view domain, std::int64_t now) {
  std::shared_ptr<Store> store;
  std::int64_t window = 0;
  {
    std::lock_guard lock(mu_);
    store = store_;
    window = std::chrono::duration_cast<std::chrono::seconds>(window_).count();
  }
  if (!store) return Error{"the report store is unavailable"};
  auto summary = store->Window(domain, now - window);
  if (!summary) return summary;
  WindowSummary out = std::move(summary).value();
  out.window_seconds = window;
  return out;
}

}  // namespace mtasts::agent::tlsrpt
