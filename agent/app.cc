#include "agent/app.h"

#include <malloc.h>
#include <pthread.h>
#include <systemd/sd-daemon.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <ctime>
#include <iostream>
#include <set>
#include <system_error>

#include "agent/internal_errors.h"
#include "agent/log.h"
#include "agent/report_json.h"
#include "agent/webhooks/message.h"
#include "base/clock.h"
#include "base/duration.h"
#include "build_info.h"
#include "collectors/check/checker_factory.h"
#include "config/config_loader.h"
#include "config/shard.h"

namespace mtasts::agent {
namespace {

std::string IssueList(const DomainReport& report) {
  std::string out;
  for (const auto& issue : report.issues)
    out += (out.empty() ? "" : ",") + std::string(IssueCodeName(issue.code));
  return out.empty() ? "-" : out;
}

// systemd's notify protocol (sd_notify(3)): a no-op unless NOTIFY_SOCKET is set, so running the
// daemon outside systemd (and in the tests) is unaffected.
void Notify(const std::string& state) {
  (void)sd_notify(0, state.c_str());
}

std::string MonotonicUsec() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::to_string(static_cast<std::uint64_t>(ts.tv_sec) * 1000000U +
                        static_cast<std::uint64_t>(ts.tv_nsec) / 1000U);
}

std::string StatusLine(std::size_t domains, int port) {
  return "STATUS=watching " + std::to_string(domains) + " domain" + (domains == 1 ? "" : "s") +
         ", listening on port " + std::to_string(port);
}

}  // namespace

App::App(DaemonFlags flags) : flags_(std::move(flags)) {}

App::~App() {
  {
    std::lock_guard lock(persist_mutex_);
    stopping_ = true;
  }
  persist_wake_.notify_all();
  if (persister_.joinable()) persister_.join();
}

std::shared_ptr<const DomainChecker> App::Checker() const {
  std::lock_guard lock(checker_mutex_);
  return checker_;
}

bool App::ProbeMx(const std::string& domain) const {
  std::lock_guard lock(checker_mutex_);
  auto it = probe_mx_.find(domain);
  return it != probe_mx_.end() ? it->second : probe_mx_default_;
}

Result<config::Config> App::LoadAndMerge() const {
  auto loaded = config::LoadConfig(flags_.config_file);
  if (!loaded) return loaded.error();
  config::Config config = std::move(loaded).value();
  if (flags_.dns_servers) config.network.dns_servers = *flags_.dns_servers;
  if (flags_.ca_file) config.network.ca_file = *flags_.ca_file;
  if (flags_.ssrf_allow_cidrs) config.network.ssrf_allow_cidrs = *flags_.ssrf_allow_cidrs;
  if (flags_.check_timeout) config.network.check_timeout = *flags_.check_timeout;
  if (flags_.smtp_port) config.network.smtp_port = *flags_.smtp_port;
  if (flags_.probe_mx) {
    config.probe_mx = true;
    for (auto& entry : config.domains) entry.probe_mx = true;
  }
  if (flags_.shard) config.shard = *flags_.shard;
  if (config.shard.count > 1) {
    // Only this instance's share of the list is watched: everything below sees no other.
    const std::size_t listed = config.domains.size();
    std::erase_if(config.domains, [&](const config::DomainEntry& entry) {
      return !InShard(entry.name, config.shard);
    });
    Log(LogLevel::kInfo, "sharded domain list",
        {{"shard", FormatShard(config.shard)},
         {"listed", std::to_string(listed)},
         {"watched", std::to_string(config.domains.size())}});
  }
  return config;
}

Result<bool> App::Apply(const config::Config& config, bool initial) {
  const bool network_changed =
      !config_ || config_->network.dns_servers != config.network.dns_servers ||
      config_->network.ca_file != config.network.ca_file ||
      config_->network.ssrf_allow_cidrs != config.network.ssrf_allow_cidrs ||
      config_->network.check_timeout != config.network.check_timeout ||
      config_->network.smtp_port != config.network.smtp_port ||
      config_->network.ehlo_name != config.network.ehlo_name;
  std::shared_ptr<const DomainChecker> checker;
  if (network_changed) {
    auto made = MakeChecker(config.network);
    if (!made) return made.error();
    checker = std::move(made).value();
  }
  auto secrets = LoadSecrets(config);
  if (!secrets) return secrets.error();
  if (http_) {
    auto configured = http_->Configure(config.api);
    if (!configured) return configured;
  }
  if (!initial && config_ && config_->state_dir != config.state_dir) {
    Log(LogLevel::kWarn, "state_dir changes take effect at the next start",
        {{"running", config_->state_dir}, {"configured", config.state_dir}});
  }
  auto hooks_started = StartWebhooks(config, secrets.value());
  if (!hooks_started) return hooks_started;
  {
    std::lock_guard lock(checker_mutex_);
    if (checker) checker_ = std::move(checker);
    probe_mx_.clear();
    for (const auto& entry : config.domains) {
      probe_mx_[entry.name] = entry.probe_mx.value_or(config.probe_mx);
    }
    probe_mx_default_ = config.probe_mx;
  }

  std::vector<std::string> names;
  for (const auto& entry : config.domains) names.push_back(entry.name);
  const auto snapshot = store_.Get();
  std::map<std::string, Scheduler::Known> known;
  for (const auto& [name, state] : snapshot->domains) {
    Scheduler::Known k;
    k.next_check_ms = state.next_check_ms;
    if (state.report && state.report->sts_record.valid) k.sts_id = state.report->sts_record.id;
    // A time-bound history issue the saved report carries is re-judged when it runs out (at
    // start when that passed while we were down), not at the planned check.
    const auto expiry =
        state.report ? NextHistoryExpiry(state.history, state.report->checked_at_ms) : std::nullopt;
    if (expiry) k.next_check_ms = std::min(k.next_check_ms, *expiry);
    known.emplace(name, k);
  }
  scheduler_->SetSchedule(config.schedule);
  scheduler_->SetDomains(names, known);
  store_.Update([&](Snapshot& s) {
    std::map<std::string, DomainState> domains;
    for (const auto& name : names) {
      auto it = s.domains.find(name);
      domains[name] = it != s.domains.end() ? it->second : DomainState{};
    }
    s.domains = std::move(domains);
    std::map<std::string, WebhookStats> webhooks;
    for (const auto& hook : config.webhooks) webhooks[hook.name] = s.webhooks[hook.name];
    s.webhooks = std::move(webhooks);
    s.config_last_reload_successful = true;
  });
  config_ = config;
  return true;
}

Result<std::map<std::string, std::optional<std::string>>> App::LoadSecrets(
    const config::Config& config) const {
  std::map<std::string, std::optional<std::string>> secrets;
  for (const auto& hook : config.webhooks) {
    if (hook.secret_file.empty()) {
      secrets[hook.name] = std::nullopt;
      continue;
    }
    auto secret = webhooks::LoadSecret(hook.secret_file);
    if (!secret) return secret.error();
    secrets[hook.name] = std::move(secret).value();
  }
  return secrets;
}

namespace {

/// Whether a running deliverer can go on as it is: everything that shapes a delivery is the
/// same (`events` only filters what is queued, and the secret is compared by the caller).
bool SameDelivery(const config::WebhookSettings& a, const config::WebhookSettings& b) {
  return a.url == b.url && a.format == b.format && a.timeout == b.timeout &&
         a.max_attempts == b.max_attempts && a.headers == b.headers;
}

}  // namespace

Result<bool> App::StartWebhooks(const config::Config& config,
                                const std::map<std::string, std::optional<std::string>>& secrets) {
  std::map<std::string, std::optional<std::vector<std::string>>> domain_hooks;
  for (const auto& entry : config.domains) domain_hooks[entry.name] = entry.webhooks;

  std::lock_guard lock(webhooks_mutex_);
  // A reload must not restart what did not change: restarting a deliverer cut its backoff short
  // (README "Lifecycle"). What is replaced or gone stops first; its pending events stay in the
  // outbox with their progress, for the new deliverer to carry on from.
  std::map<std::string, std::unique_ptr<webhooks::Deliverer>> kept;
  for (const auto& hook : config.webhooks) {
    auto running = deliverers_.find(hook.name);
    if (running == deliverers_.end()) continue;
    auto old = std::find_if(webhook_settings_.begin(), webhook_settings_.end(),
                            [&](const config::WebhookSettings& s) { return s.name == hook.name; });
    if (old != webhook_settings_.end() && SameDelivery(*old, hook) &&
        webhook_secrets_[hook.name] == secrets.at(hook.name)) {
      kept[hook.name] = std::move(running->second);
      deliverers_.erase(running);
    }
  }
  for (auto& [name, deliverer] : deliverers_) deliverer->Stop();
  deliverers_ = std::move(kept);

  for (const auto& hook : config.webhooks) {
    if (deliverers_.count(hook.name) != 0) continue;  // kept running
    webhooks::DelivererOptions options;
    options.name = hook.name;
    options.url = hook.url;
    options.timeout = hook.timeout;
    options.max_attempts = hook.max_attempts;
    std::vector<std::pair<std::string, std::string>> headers(hook.headers.begin(),
                                                             hook.headers.end());
    const std::string name = hook.name;
    const std::string format = hook.format;
    const std::optional<std::string>& secret = secrets.at(hook.name);  // copied by the render
    auto deliverer = std::make_unique<webhooks::Deliverer>(
        options, *outbox_,
        [format, secret, headers](const webhooks::PendingEvent& event, std::int64_t now) {
          return webhooks::RenderDelivery(event, format, secret, now, headers);
        },
        [this, name](bool success) {
          store_.Update([&](Snapshot& s) {
            auto& stats = s.webhooks[name];
            (success ? stats.successes : stats.failures)++;
            if (success && stats.queue_length > 0) --stats.queue_length;
          });
        },
        [this, name](const webhooks::PendingEvent&, const std::string&) {
          store_.Update([&](Snapshot& s) {
            auto& stats = s.webhooks[name];
            if (stats.queue_length > 0) --stats.queue_length;
          });
        });
    auto started = deliverer->Start();
    if (!started) return started;
    const auto queued = deliverer->QueueLength();
    store_.Update([&](Snapshot& s) { s.webhooks[name].queue_length = queued; });
    deliverers_[hook.name] = std::move(deliverer);
  }
  webhook_settings_ = config.webhooks;
  webhook_secrets_ = secrets;
  domain_webhooks_ = std::move(domain_hooks);
  return true;
}

void App::Emit(const std::string& domain, const webhooks::Observation& observation) {
  webhooks::Event event;
  event.domain = domain;
  event.occurred_at_ms = NowUnixMillis();
  event.previous = observation.before;
  event.current = observation.after;
  event.changes = webhooks::Diff(observation.before, observation.after);
  event.downgrade = webhooks::IsDowngrade(observation.before, observation.after);
  event.id = webhooks::EventId(domain, observation.sequence, observation.before, observation.after);
  const std::string payload = webhooks::EventToJson(event).dump();

  std::lock_guard lock(webhooks_mutex_);
  const auto only = domain_webhooks_.find(domain);
  for (const auto& hook : webhook_settings_) {
    if (only != domain_webhooks_.end() && only->second &&
        std::find(only->second->begin(), only->second->end(), hook.name) == only->second->end()) {
      continue;  // this domain lists its webhooks, and not this one
    }
    if (hook.events == "downgrade" && !event.downgrade) continue;
    auto added = outbox_->Add(hook.name, event.occurred_at_ms, event.id, payload);
    if (!added) {
      Log(LogLevel::kError, "cannot queue a webhook event",
          {{"webhook", hook.name}, {"domain", domain}, {"error", added.error().message}});
      continue;
    }
    store_.Update([&](Snapshot& s) { ++s.webhooks[hook.name].queue_length; });
    // Without a running deliverer (its start failed) the event waits in the outbox.
    if (auto deliverer = deliverers_.find(hook.name); deliverer != deliverers_.end()) {
      deliverer->second->Enqueue(added.value());
    }
  }
}

Result<bool> App::Reload() {
  std::lock_guard lock(reload_mutex_);
  auto config = LoadAndMerge();
  Result<bool> applied = config ? Apply(config.value(), false) : Result<bool>(config.error());
  if (!applied) {
    store_.Update([](Snapshot& s) { s.config_last_reload_successful = false; });
    Log(LogLevel::kError, "config reload failed; keeping the running config",
        {{"file", flags_.config_file}, {"error", applied.error().message}});
    return applied;
  }
  Log(LogLevel::kInfo, "config reloaded",
      {{"file", flags_.config_file}, {"domains", std::to_string(config.value().domains.size())}});
  return true;
}

void App::OnReport(const std::string& domain, DomainReport report, std::int64_t next_check_ms) {
  metrics_.ObserveCheckDuration(report.duration_seconds);
  const std::optional<DomainState> current = store_.GetDomain(domain);
  if (!current) return;  // removed by a reload meanwhile
  // The history-aware issues join the report first, so the posture (and webhooks) see them.
  const std::int64_t now_ms = NowUnixMillis();
  const HistoryJudgement history = JudgeHistory(current->history, report, now_ms);
  ApplyHistory(history, report);
  auto shared = std::make_shared<const DomainReport>(std::move(report));
  const webhooks::Posture posture = webhooks::PostureFromReport(*shared);
  int confirmations = 2;
  std::int64_t min_interval_ms = std::int64_t{5} * 60 * 1000;
  {
    std::lock_guard lock(reload_mutex_);
    if (config_) {
      confirmations = config_->schedule.confirmations;
      min_interval_ms = config_->schedule.min_interval.count();
    }
  }
  // Judge the change on a copy: the events go to the outbox before the posture is committed,
  // so a crash in between re-detects the change (same event id) instead of losing it.
  webhooks::TrackerState tracker = current->tracker;
  // A check whose lookups went unanswered says nothing about the posture: a DNS outage must not
  // look like a vanished policy.
  const webhooks::Observation observation = shared->check_complete
                                                ? webhooks::Observe(tracker, posture, confirmations)
                                                : webhooks::Observation{};
  if (observation.changed) Emit(domain, observation);
  store_.UpdateDomain(domain, [&](DomainState& state) {
    if (observation.changed) ++state.posture_changes;
    state.tracker = tracker;
    state.history = history.after;
    state.report = shared;
    state.next_check_ms = next_check_ms;
  });
  if (observation.pending) {
    // A new posture awaits confirmation: look again soon rather than at the next max_age.
    scheduler_->RecheckAt(domain, NowUnixMillis() + min_interval_ms);
  }
  if (auto expiry = NextHistoryExpiry(history.after, now_ms)) {
    scheduler_->RecheckAt(domain, *expiry);  // so a time-bound issue ends on time
  }
  const DomainReport& r = *shared;
  LogFields fields = {
      {"domain", domain},
      {"enforced", r.enforced ? "true" : "false"},
      {"mode", r.policy.policy ? std::string(policy::ModeName(r.policy.policy->mode)) : "unknown"},
      {"issues", IssueList(r)},
      {"duration", FormatDuration(std::chrono::milliseconds(
                       static_cast<std::int64_t>(r.duration_seconds * 1000)))},
      {"next_check", FormatRfc3339Millis(next_check_ms)}};
  Log(LogLevel::kDebug, "check finished", fields);
  if (observation.changed) {
    Log(LogLevel::kInfo, "posture changed",
        {{"domain", domain},
         {"from", webhooks::PostureToJson(observation.before).dump()},
         {"to", webhooks::PostureToJson(observation.after).dump()},
         {"downgrade",
          webhooks::IsDowngrade(observation.before, observation.after) ? "true" : "false"}});
  }
  for (const auto& issue : r.issues) {
    if (issue.code == IssueCode::kDnsError) {
      Log(LogLevel::kWarn, "lookup failed", {{"domain", domain}, {"error", issue.message}});
    }
  }
  {
    std::lock_guard lock(persist_mutex_);
    dirty_ = true;
  }
}

void App::PersistLoop() {
  std::unique_lock lock(persist_mutex_);
  bool last_failed = false;
  for (;;) {
    persist_wake_.wait_for(lock, std::chrono::seconds(2), [this] { return stopping_; });
    const bool stopping = stopping_;
    if (dirty_) {
      dirty_ = false;
      lock.unlock();
      // What escapes a save is logged and counted; the next change is saved afresh.
      RunGuarded(ThreadKind::kPersist, "saving the state", [&] {
        auto saved = state_file_->Save(*store_.Get());
        if (!saved && !last_failed) {
          Log(LogLevel::kError, "cannot save state", {{"error", saved.error().message}});
        }
        last_failed = !saved;
      });
      lock.lock();
    }
    if (stopping) return;
  }
}

int App::Run() {
  // Signals are taken synchronously by this thread; every thread started below inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGHUP);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto config = LoadAndMerge();
  if (!config) {
    Log(LogLevel::kError, "cannot start: bad configuration", {{"error", config.error().message}});
    return 2;
  }
  state_file_ = std::make_unique<StateFile>(config.value().state_dir);
  outbox_ = std::make_unique<webhooks::Outbox>(config.value().state_dir + "/outbox");
  auto restored = state_file_->Load();
  if (!restored) {
    Log(LogLevel::kWarn, "saved state not used", {{"error", restored.error().message}});
  } else if (!restored.value().empty()) {
    store_.Update([&](Snapshot& s) { s.domains = restored.value(); });
    Log(LogLevel::kInfo, "state restored",
        {{"file", state_file_->path()}, {"domains", std::to_string(restored.value().size())}});
  }

  scheduler_ = std::make_unique<Scheduler>(
      config.value().schedule, [] { return NowUnixMillis(); },
      [this](const std::string& domain) { return Checker()->Check(domain, ProbeMx(domain)); },
      [this](const std::string& domain) { return Checker()->CurrentStsId(domain); },
      [this](const std::string& domain, DomainReport report, std::int64_t next) {
        OnReport(domain, std::move(report), next);
      });
  {
    std::lock_guard lock(reload_mutex_);
    auto applied = Apply(config.value(), true);
    if (!applied) {
      Log(LogLevel::kError, "cannot start", {{"error", applied.error().message}});
      return 2;
    }
  }
  malloc_trim(0);  // a large config's YAML tree is gone by now: give its memory back

  HttpHandlers handlers;
  handlers.metrics = [this] {
    return metrics_cache_.Get(store_.Get(), metrics_.Generation(), [this](const Snapshot& s) {
      // Compressed as it is rendered: the whole text (12 MB at 10,000 domains) never sits in
      // memory, only the gzip (~0.7 MB) that is kept.
      GzipWriter gzip;
      metrics_.Render(s, [&gzip](std::string_view text) { gzip.Write(text); });
      std::string page = gzip.Finish();
      malloc_trim(0);  // the render's transients are large with many domains: give them back
      return page;
    });
  };
  handlers.check = [this](const std::string& domain) {
    return Checker()->Check(domain, ProbeMx(domain));
  };
  handlers.policy = [this](const std::string& domain) {
    return Checker()->CheckPolicyOnly(domain);
  };
  handlers.ready = [this] { return scheduler_->FirstRoundDone(); };
  // Lifecycle endpoints only when asked for (README "Lifecycle"); SIGHUP works regardless.
  if (flags_.enable_lifecycle) handlers.reload = [this] { return Reload(); };
  try {
    http_ = std::make_unique<HttpServer>(handlers, config.value().api);
  } catch (const std::runtime_error& e) {
    Log(LogLevel::kError, "cannot start", {{"error", e.what()}});
    return 2;
  }
  auto listening = http_->Start(flags_.listen_address);
  if (!listening) {
    Log(LogLevel::kError, "cannot start", {{"error", listening.error().message}});
    return 2;
  }
  try {
    persister_ = std::thread([this] { PersistLoop(); });
    scheduler_->Start();
  } catch (const std::system_error& e) {
    Log(LogLevel::kError, "cannot start: no threads", {{"error", e.what()}});
    return 2;
  }
  Log(LogLevel::kInfo, "mta-sts-exporter started",
      {{"version", kVersion},
       {"revision", kRevision},
       {"listen", flags_.listen_address},
       {"port", std::to_string(http_->port())},
       {"config", flags_.config_file},
       {"domains", std::to_string(config.value().domains.size())}});

  Notify("READY=1\n" + StatusLine(config.value().domains.size(), http_->port()));

  // With WatchdogSec= set, systemd expects WATCHDOG=1 at least every interval: this loop pings
  // every half of it, waking from sigtimedwait when no signal came meanwhile.
  std::uint64_t watchdog_usec = 0;
  if (sd_watchdog_enabled(0, &watchdog_usec) <= 0) watchdog_usec = 0;
  timespec ping_every{};
  if (watchdog_usec > 0) {
    const std::uint64_t half = std::max<std::uint64_t>(watchdog_usec / 2, 1);
    ping_every.tv_sec = static_cast<time_t>(half / 1000000U);
    ping_every.tv_nsec = static_cast<long>(half % 1000000U) * 1000L;
    Notify("WATCHDOG=1");
  }

  for (;;) {
    const int signal = watchdog_usec > 0 ? sigtimedwait(&signals, nullptr, &ping_every)
                                         : sigwaitinfo(&signals, nullptr);
    if (signal < 0) {
      if (errno == EAGAIN) Notify("WATCHDOG=1");  // the interval passed without a signal
      continue;
    }
    if (signal == SIGHUP) {
      Log(LogLevel::kInfo, "SIGHUP: reloading the config");
      Notify("RELOADING=1\nMONOTONIC_USEC=" + MonotonicUsec() + "\nSTATUS=reloading the config");
      const bool reloaded = Reload().has_value();
      std::size_t domains = 0;
      {
        std::lock_guard lock(reload_mutex_);
        if (config_) domains = config_->domains.size();
      }
      Notify("READY=1\n" + StatusLine(domains, http_->port()) +
             (reloaded ? "" : "; the last reload failed, the previous config runs"));
      if (watchdog_usec > 0) Notify("WATCHDOG=1");
      continue;
    }
    Log(LogLevel::kInfo, "shutting down", {{"signal", signal == SIGTERM ? "SIGTERM" : "SIGINT"}});
    Notify("STOPPING=1\nSTATUS=shutting down: finishing the checks in flight");
    break;
  }
  http_->Stop();
  scheduler_->Stop();  // drains the checks in flight
  {
    std::lock_guard lock(webhooks_mutex_);
    for (auto& [name, deliverer] : deliverers_) deliverer->Stop();  // pending stay in the outbox
  }
  {
    std::lock_guard lock(persist_mutex_);
    stopping_ = true;
    dirty_ = true;  // one last save, whatever happened since the previous one
  }
  persist_wake_.notify_all();
  persister_.join();
  Log(LogLevel::kInfo, "stopped");
  return 0;
}

}  // namespace mtasts::agent
