#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "agent/internal_errors.h"
#include "agent/result_store.h"
#include "collectors/report/report.h"

namespace mtasts::agent {

/// Turns the snapshot into the Prometheus text exposition (README "Metrics"; prometheus-cpp
/// families serialised with its TextSerializer). Per-domain series are built fresh from the
/// snapshot on every render, so a domain removed from the config loses its series at once.
/// Process-level metrics (build info, the check-duration histogram) live in a registry here;
/// mta_sts_exporter_internal_errors_total is read from `errors` at each render. Thread-safe.
class Metrics {
 public:
  explicit Metrics(const InternalErrors& errors = InternalErrors::Process());
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  /// Every finished check, for mta_sts_exporter_check_duration_seconds.
  void ObserveCheckDuration(double seconds);

  /// Changes whenever the process-level metrics do (each observed check, each internal error):
  /// with the snapshot, what decides whether a rendered exposition is still current.
  std::uint64_t Generation() const;

  /// The whole exposition (text format 0.0.4).
  std::string Render(const Snapshot& snapshot) const;
  /// The same bytes, handed to `write` piece by piece as they are produced (one family, or one
  /// chunk of a family, at a time), so the whole text need never be in memory at once.
  void Render(const Snapshot& snapshot, const std::function<void(std::string_view)>& write) const;

  /// The exposition of GET /probe (README "Probing domains listed in Prometheus"): the per-domain
  /// families /metrics renders for a watched domain's `report`, labelled `domain`, plus
  /// mta_sts_probe_success (1 when the check ran to the end) and mta_sts_probe_duration_seconds.
  static std::string RenderProbe(const std::string& domain, const DomainReport& report,
                                 double duration_seconds);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mtasts::agent
