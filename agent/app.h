#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "agent/http_server.h"
#include "agent/metrics.h"
#include "agent/metrics_page.h"
#include "agent/result_store.h"
#include "agent/scheduler.h"
#include "agent/state_file.h"
#include "agent/webhooks/deliverer.h"
#include "agent/webhooks/outbox.h"
#include "collectors/check/domain_checker.h"
#include "config/config.h"

namespace mtasts::agent {

/// Flags that override the config file (README "The daemon": a flag wins over the file).
struct DaemonFlags {
  std::string config_file = "/etc/mta-sts-exporter/config.yaml";
  std::string listen_address = ":10056";
  std::optional<std::vector<std::string>> dns_servers;
  std::optional<std::string> ca_file;
  std::optional<std::vector<std::string>> ssrf_allow_cidrs;
  std::optional<std::chrono::milliseconds> check_timeout;
  std::optional<std::uint16_t> smtp_port;  // hidden test flag --smtp.port
  bool probe_mx = false;                   // --probe-mx: probe the MX hosts of every domain
  std::optional<Shard> shard;
  bool enable_lifecycle = false;  // --web.enable-lifecycle: POST /-/reload is served (else 403)
};

/// The daemon: config, scheduler, result store, state file, metrics and the HTTP listener,
/// wired together. Run() blocks until SIGTERM/SIGINT; SIGHUP reloads, and so does POST
/// /-/reload with --web.enable-lifecycle.
class App {
 public:
  explicit App(DaemonFlags flags);
  ~App();

  /// Returns the process exit status: 0 after a clean shutdown, 2 for a fatal start-up error.
  int Run();

  /// Re-reads the config; a bad file keeps the running one (and is reported).
  Result<bool> Reload();

 private:
  Result<config::Config> LoadAndMerge() const;
  Result<bool> Apply(const config::Config& config, bool initial);
  void OnReport(const std::string& domain, DomainReport report, std::int64_t next_check_ms);
  void PersistLoop();
  /// Every webhook's secret (nullopt: unsigned), read and validated: a missing file or a bad
  /// secret fails the start or the reload before anything running is replaced.
  Result<std::map<std::string, std::optional<std::string>>> LoadSecrets(
      const config::Config& config) const;
  /// Runs a deliverer per configured webhook. One whose delivery settings and secret did not
  /// change keeps running untouched; one that must be rebuilt carries on from the attempts and
  /// backoff its events have in the outbox; one no longer configured stops (its events stay).
  Result<bool> StartWebhooks(const config::Config& config,
                             const std::map<std::string, std::optional<std::string>>& secrets);
  void Emit(const std::string& domain, const webhooks::Observation& observation);
  std::shared_ptr<const DomainChecker> Checker() const;
  /// Whether `domain`'s checks probe its MX hosts: its entry's probe_mx, else the top level.
  bool ProbeMx(const std::string& domain) const;

  DaemonFlags flags_;
  ResultStore store_;
  Metrics metrics_;
  MetricsCache metrics_cache_;
  std::unique_ptr<StateFile> state_file_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<HttpServer> http_;

  mutable std::mutex checker_mutex_;
  std::shared_ptr<const DomainChecker> checker_;  // swapped on reload; guarded by checker_mutex_
  std::map<std::string, bool> probe_mx_;          // per domain; guarded by checker_mutex_
  bool probe_mx_default_ = false;                 // guarded by checker_mutex_
  std::mutex reload_mutex_;                       // one reload at a time
  std::optional<config::Config> config_;          // the running config; guarded by reload_mutex_

  std::unique_ptr<webhooks::Outbox> outbox_;
  std::mutex webhooks_mutex_;  // guards the four below (swapped on reload)
  std::map<std::string, std::unique_ptr<webhooks::Deliverer>> deliverers_;
  std::vector<config::WebhookSettings> webhook_settings_;
  std::map<std::string, std::optional<std::string>> webhook_secrets_;  // what each runs with
  std::map<std::string, std::optional<std::vector<std::string>>> domain_webhooks_;

  std::mutex persist_mutex_;
  std::condition_variable persist_wake_;
  bool dirty_ = false;     // guarded by persist_mutex_
  bool stopping_ = false;  // guarded by persist_mutex_
  std::thread persister_;
};

}  // namespace mtasts::agent
