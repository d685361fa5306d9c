#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "agent/http/server.h"
#include "agent/http/tls_server.h"
#include "agent/pipeline/report_pipeline.h"
#include "agent/result_store.h"
#include "agent/scheduler.h"
#include "agent/webhooks/dispatcher.h"
#include "base/result.h"
#include "collectors/check/domain_checker.h"
#include "config/config.h"
#include "config/overrides.h"

namespace mtasts::agent {

/// The daemon's flags: where its files are, and what overrides the config file.
struct DaemonFlags {
  std::string config_file = "/etc/mta-sts-exporter/config.yaml";
  std::string listen_address = ":10056";
  std::string web_config_file;  // --web.config.file: TLS, users, headers (empty: none)
  config::Overrides overrides;
  bool enable_lifecycle = false;  // --web.enable-lifecycle: POST /-/reload is served (else 403)
};

/// The daemon's configuration as it runs: loaded from the file with the flags over it, and
/// applied to the parts (README "Lifecycle": a reload that fails keeps the running config, and
/// replaces nothing). Owns what is derived from it: the checker, rebuilt only when the network
/// settings change, and each domain's probe_mx. Thread-safe.
class RunningConfig {
 public:
  /// What a config is applied to; `http` is null before the listener exists.
  struct Parts {
    ResultStore& store;
    Scheduler& scheduler;
    ReportPipeline& pipeline;
    webhooks::Dispatcher& dispatcher;
    HttpServer* http = nullptr;
    tlsrpt::Receiver* tlsrpt = nullptr;
  };

  explicit RunningConfig(DaemonFlags flags);

  const DaemonFlags& flags() const { return flags_; }

  /// The file with the flags over it; with a shard, only this instance's share of the domains;
  /// with --web.config.file, that file read again into `web`.
  Result<config::Config> Load() const;
  /// Applies `config` (initial: at start). Everything that can fail is prepared first.
  Result<bool> Apply(const config::Config& config, bool initial, const Parts& parts);
  /// Load and Apply; a failure is logged, counted in the store, and changes nothing.
  Result<bool> Reload(const Parts& parts);

  /// The listener's HTTPS from `config.web`'s tls_server_config, the files read now (so a
  /// reload picks up a renewed certificate): null for plain HTTP. Errors name the web config
  /// file and OpenSSL's reason.
  Result<std::shared_ptr<const TlsServerContext>> WebTls(const config::Config& config) const;

  std::shared_ptr<const DomainChecker> Checker() const;
  /// Whether `domain`'s checks probe its MX hosts: its entry's probe_mx, else the top level.
  bool ProbeMx(const std::string& domain) const;
  /// The number of domains watched.
  std::size_t Domains() const;

 private:
  Result<bool> ApplyLocked(const config::Config& config, bool initial, const Parts& parts);

  DaemonFlags flags_;
  mutable std::mutex checker_mutex_;
  std::shared_ptr<const DomainChecker> checker_;  // swapped on reload; guarded by checker_mutex_
  std::map<std::string, bool> probe_mx_;          // per domain; guarded by checker_mutex_
  bool probe_mx_default_ = false;                 // guarded by checker_mutex_
  mutable std::mutex reload_mutex_;               // one reload at a time
  std::optional<config::Config> config_;  // the running config without its domains; guarded by
                                          // reload_mutex_
  std::size_t domain_count_ = 0;          // its domains; guarded by reload_mutex_
};

}  // namespace mtasts::agent
