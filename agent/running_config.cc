#include "agent/running_config.h"

#include <algorithm>
#include <utility>

#include "agent/log.h"
#include "agent/tlsrpt/maildir.h"
#include "collectors/check/checker_factory.h"
#include "config/config_loader.h"
#include "config/shard.h"
#include "config/web_config.h"

namespace mtasts::agent {

RunningConfig::RunningConfig(DaemonFlags flags) : flags_(std::move(flags)) {}

std::shared_ptr<const DomainChecker> RunningConfig::Checker() const {
  std::lock_guard lock(checker_mutex_);
  return checker_;
}

bool RunningConfig::ProbeMx(const std::string& domain) const {
  std::lock_guard lock(checker_mutex_);
  auto it = probe_mx_.find(domain);
  return it != probe_mx_.end() ? it->second : probe_mx_default_;
}

std::size_t RunningConfig::Domains() const {
  std::lock_guard lock(reload_mutex_);
  return config_ ? domain_count_ : 0;
}

Result<std::shared_ptr<const TlsServerContext>> RunningConfig::WebTls(
    const config::Config& config) const {
  if (!config.web.tls) return std::shared_ptr<const TlsServerContext>();
  const config::WebTlsSettings& web = *config.web.tls;
  TlsServerSettings settings;
  settings.cert_file = web.cert_file;
  settings.key_file = web.key_file;
  settings.client_auth_type = web.client_auth_type;
  settings.client_ca_file = web.client_ca_file;
  settings.min_version = web.min_version;
  settings.max_version = web.max_version;
  auto loaded = TlsServerContext::Load(settings);
  if (!loaded) return Error{config.web.path + ": tls_server_config: " + loaded.error().message};
  return loaded;
}

Result<config::Config> RunningConfig::Load() const {
  auto loaded = config::LoadConfig(flags_.config_file);
  if (!loaded) return loaded.error();
  config::Config config = std::move(loaded).value();
  config::ApplyOverrides(config, flags_.overrides);
  if (!flags_.web_config_file.empty()) {
    auto web = config::LoadWebConfig(flags_.web_config_file);
    if (!web) return web.error();
    config.web = std::move(web).value();
  }
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

Result<bool> RunningConfig::Apply(const config::Config& config, bool initial, const Parts& parts) {
  std::lock_guard lock(reload_mutex_);
  return ApplyLocked(config, initial, parts);
}

Result<bool> RunningConfig::ApplyLocked(const config::Config& config, bool initial,
                                        const Parts& parts) {
  std::shared_ptr<const DomainChecker> checker;
  if (!config_ || config_->network != config.network) {
    auto made = MakeChecker(config.network);
    if (!made) return made.error();
    checker = std::move(made).value();
  }
  auto secrets = webhooks::LoadSecrets(config);
  if (!secrets) return secrets.error();
  if (!config.tlsrpt.maildir.empty()) {
    // Made and checked before anything is applied: an unusable directory refuses the start, and
    // a reload keeps the running config (README "Receiving reports by mail").
    auto maildir = tlsrpt::PrepareMaildir(config.tlsrpt.maildir);
    if (!maildir) return maildir;
  }
  // The certificate is loaded before anything changes: one that does not load keeps it all.
  std::shared_ptr<const TlsServerContext> web_tls;
  if (parts.http != nullptr) {
    auto loaded = WebTls(config);
    if (!loaded) return loaded.error();
    web_tls = std::move(loaded).value();
  }
  if (parts.http != nullptr) {
    auto configured = parts.http->Configure(config.api);
    if (!configured) return configured;
    auto reports = parts.http->Configure(config.tlsrpt);
    if (!reports) return reports;
    parts.http->Configure(config.web);
    parts.http->SetTls(std::move(web_tls));  // new connections; those open keep theirs
  }
  if (!initial && config_ && config_->state_dir != config.state_dir) {
    Log(LogLevel::kWarn, "state_dir changes take effect at the next start",
        {{"running", config_->state_dir}, {"configured", config.state_dir}});
  }
  auto hooks_started = parts.dispatcher.Configure(config, secrets.value());
  if (!hooks_started) return hooks_started;
  {
    std::lock_guard lock(checker_mutex_);
    if (checker) checker_ = std::move(checker);
    probe_mx_.clear();  // only the exceptions to the top-level probe_mx (README "Memory")
    for (const auto& entry : config.domains) {
      const bool probe = entry.probe_mx.value_or(config.probe_mx);
      if (probe != config.probe_mx) probe_mx_[entry.name] = probe;
    }
    probe_mx_default_ = config.probe_mx;
  }
  parts.pipeline.SetSchedule(config.schedule);

  std::vector<std::string> names;
  for (const auto& entry : config.domains) names.push_back(entry.name);
  const auto snapshot = parts.store.Get();
  std::map<std::string, Scheduler::Known> known;
  for (const auto& [name, state] : snapshot->domains) {
    Scheduler::Known k;
    k.next_check_ms = state.next_check_ms;
    if (state.report) {
      const DomainReport report = state.report.Unpack();
      if (report.sts_record.valid) k.sts_id = report.sts_record.id;
      // A time-bound history issue the saved report carries is re-judged when it runs out (at
      // start when that passed while we were down), not at the planned check.
      const auto expiry = history::NextHistoryExpiry(state.history.Unpack(), report.checked_at_ms);
      if (expiry) k.next_check_ms = std::min(k.next_check_ms, *expiry);
    }
    known.emplace(name, k);
  }
  parts.scheduler.SetSchedule(config.schedule);
  parts.scheduler.SetDomains(names, known);
  parts.store.Update([&](Snapshot& s) {
    s.domains.Retain(names);
    std::map<std::string, WebhookStats> webhooks;
    for (const auto& hook : config.webhooks) webhooks[hook.name] = s.webhooks[hook.name];
    s.webhooks = std::move(webhooks);
    s.config_last_reload_successful = true;
  });
  if (parts.tlsrpt != nullptr) {
    parts.tlsrpt->Configure(config.tlsrpt, tlsrpt::DomainSet(names.begin(), names.end()));
  }
  // The domains live on in the store, the scheduler and the exceptions above; the copy kept for
  // the next reload's comparisons needs none of them (README "Memory").
  config_ = config;
  config_->domains = {};
  domain_count_ = config.domains.size();
  return true;
}

Result<bool> RunningConfig::Reload(const Parts& parts) {
  std::lock_guard lock(reload_mutex_);
  auto config = Load();
  Result<bool> applied =
      config ? ApplyLocked(config.value(), false, parts) : Result<bool>(config.error());
  if (!applied) {
    parts.store.Update([](Snapshot& s) { s.config_last_reload_successful = false; });
    Log(LogLevel::kError, "config reload failed; keeping the running config",
        {{"file", flags_.config_file}, {"error", applied.error().message}});
    return applied;
  }
  Log(LogLevel::kInfo, "config reloaded",
      {{"file", flags_.config_file}, {"domains", std::to_string(config.value().domains.size())}});
  return true;
}

}  // namespace mtasts::agent
