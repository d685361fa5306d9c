#include "agent/metrics.h"

#include <prometheus/client_metric.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/metric_type.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "build_info.h"
#include "collectors/policy/policy_parser.h"
#include "collectors/report/issue_codes.h"
#include "collectors/report/report.h"

namespace mtasts::agent {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<ClientMetric::Label>;

// Upper bounds of mta_sts_exporter_check_duration_seconds, in seconds. A check is a handful of
// DNS lookups and one HTTPS fetch under --check.timeout (10 s by default), so the buckets run
// from a cached answer (10 ms) to a slow, generous budget (30 s); anything longer lands in +Inf.
constexpr std::array kCheckDurationBuckets = {0.01, 0.025, 0.05, 0.1,  0.25, 0.5,
                                              1.0,  2.5,   5.0,  10.0, 20.0, 30.0};

// The `reason` values of mta_sts_tlsrpt_rejected_total (README "Metrics").
constexpr std::array<std::string_view, 5> kTlsRptRejectReasons = {
    "malformed", "media_type", "rate_limited", "too_large", "unwatched"};

// Domains whose series are gathered before they are written out (see Render).
constexpr std::size_t kDomainsPerChunk = 250;

// The mode state set (README "Metrics"): one series per value, 1 for the current one.
constexpr std::array<std::string_view, 4> kModeValues = {"enforce", "testing", "none", "unknown"};

MetricFamily Family(std::string name, std::string help, MetricType type) {
  MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = type;
  return family;
}

MetricFamily Gauge(std::string name, std::string help) {
  return Family(std::move(name), std::move(help), MetricType::Gauge);
}

MetricFamily Counter(std::string name, std::string help) {
  return Family(std::move(name), std::move(help), MetricType::Counter);
}

void Add(MetricFamily& family, Labels labels, double value) {
  ClientMetric metric;
  metric.label = std::move(labels);
  if (family.type == MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  family.metric.push_back(std::move(metric));
}

double Bit(bool value) {
  return value ? 1.0 : 0.0;
}

double Seconds(std::int64_t unix_ms) {
  return static_cast<double>(unix_ms) / 1000.0;
}

// Series ordered by their label values (label names come in a fixed order per family, domain
// first), so the exposition is byte-for-byte stable. A repeated label set (a report holding the
// same issue twice) would make the exposition invalid: the first one wins.
void SortSeries(MetricFamily& family) {
  auto& series = family.metric;
  std::stable_sort(series.begin(), series.end(),
                   [](const ClientMetric& a, const ClientMetric& b) { return a.label < b.label; });
  auto same = [](const ClientMetric& a, const ClientMetric& b) { return a.label == b.label; };
  series.erase(std::unique(series.begin(), series.end(), same), series.end());
}

// The families built fresh from each snapshot. HELP texts must stay free of backslashes and
// newlines: prometheus-cpp 1.0 writes them unescaped.
struct SnapshotFamilies {
  MetricFamily enforced = Gauge(
      "mta_sts_enforced",
      "1 when a single valid STSv1 record exists and the policy file is valid with mode enforce.");
  MetricFamily mode = Gauge("mta_sts_mode",
                            "Policy mode as a state set: 1 for the current mode (unknown without "
                            "a valid policy), 0 for the others.");
  MetricFamily issues =
      Gauge("mta_sts_issues", "Number of active issues of each severity found by the last check.");
  MetricFamily issue = Gauge("mta_sts_issue", "1 for each issue active after the last check.");
  MetricFamily record_present =
      Gauge("mta_sts_record_present", "1 when a TXT record beginning with v=STSv1 exists.");
  MetricFamily policy_valid =
      Gauge("mta_sts_policy_valid", "1 when the policy file was retrieved and parses as valid.");
  MetricFamily tls_rpt_present =
      Gauge("mta_sts_tls_rpt_present", "1 when a TLS-RPT record beginning with v=TLSRPTv1 exists.");
  MetricFamily max_age =
      Gauge("mta_sts_policy_max_age_seconds", "The max_age of the valid policy, in seconds.");
  MetricFamily policy_info =
      Gauge("mta_sts_policy_info", "Always 1: the STS record id and the policy version.");
  MetricFamily policy_first_seen = Gauge(
      "mta_sts_policy_first_seen_timestamp_seconds",
      "Unix time when the daemon first saw the current policy content (its age: time() - this).");
  MetricFamily check_success =
      Gauge("mta_sts_check_success",
            "1 when the last check ran to the end (every lookup answered, found or not).");
  MetricFamily last_check =
      Gauge("mta_sts_last_check_timestamp_seconds", "Unix time when the last check started.");
  MetricFamily next_check =
      Gauge("mta_sts_next_check_timestamp_seconds", "Unix time of the next planned full check.");
  MetricFamily last_duration =
      Gauge("mta_sts_last_check_duration_seconds", "Wall time of the last check, in seconds.");
  MetricFamily posture_changes =
      Counter("mta_sts_posture_changes_total", "Posture changes seen for the domain.");
  MetricFamily webhook_deliveries =
      Counter("mta_sts_webhook_deliveries_total", "Webhook delivery attempts, by result.");
  MetricFamily webhook_queue =
      Gauge("mta_sts_webhook_queue_length", "Events waiting for delivery to the webhook.");
  MetricFamily domains_watched =
      Gauge("mta_sts_exporter_domains_watched", "Domains in the loaded configuration.");
  MetricFamily reload_ok = Gauge("mta_sts_exporter_config_last_reload_successful",
                                 "1 when the last configuration reload succeeded.");
  MetricFamily mx_starttls = Gauge("mta_sts_mx_starttls",
                                   "1 when every reachable address of the MX host completed "
                                   "STARTTLS, 0 when one did not (probe_mx only).");
  MetricFamily mx_cert_valid = Gauge("mta_sts_mx_cert_valid",
                                     "1 when every STARTTLS certificate of the MX host is trusted "
                                     "and valid for its name, 0 otherwise (probe_mx only).");
  MetricFamily mx_cert_expiry =
      Gauge("mta_sts_mx_cert_expiry_timestamp_seconds",
            "Unix time when the MX host's earliest-ending STARTTLS certificate expires.");
  MetricFamily policy_cert_expiry = Gauge("mta_sts_policy_cert_expiry_timestamp_seconds",
                                          "Unix time when the policy host's certificate expires.");
  MetricFamily tlsrpt_reports =
      Counter("mta_sts_tlsrpt_reports_total", "TLS-RPT reports stored for the domain.");
  MetricFamily tlsrpt_sessions = Counter(
      "mta_sts_tlsrpt_sessions_total",
      "Sessions the stored TLS-RPT reports counted (summary counts), by policy type and result.");
  MetricFamily tlsrpt_failed_sessions =
      Counter("mta_sts_tlsrpt_failed_sessions_total",
              "Failed sessions the stored TLS-RPT reports detailed, by result type.");
  MetricFamily tlsrpt_last_report =
      Gauge("mta_sts_tlsrpt_last_report_timestamp_seconds",
            "Unix time when the date-range of the newest stored TLS-RPT report ends.");
  MetricFamily tlsrpt_rejected =
      Counter("mta_sts_tlsrpt_rejected_total",
              "TLS-RPT reports refused since the exporter started, by reason.");
  MetricFamily internal_errors =
      Counter("mta_sts_exporter_internal_errors_total",
              "Exceptions caught at the top of a daemon thread (logged; the thread carried on), "
              "by kind of thread.");

  /// When set, only this family is filled: Render builds and writes one family at a time, so
  /// memory holds one family's series, not every series of every domain.
  const MetricFamily* selected = nullptr;
  bool Wants(const MetricFamily& family) const {
    return selected == nullptr || selected == &family;
  }
  void Put(MetricFamily& family, Labels labels, double value) const {
    if (Wants(family)) Add(family, std::move(labels), value);
  }

  void AddDomain(const std::string& domain, const DomainState& state);
  void AddTlsRpt(const std::string& domain, const tlsrpt::DomainTotals& totals);
  void AddMxProbes(const ClientMetric::Label& by_domain, const MxReport& mx);
  void AddWebhook(const std::string& name, const WebhookStats& stats);
};

// Each render pass fills one family (`selected`), so every series below is guarded by Wants():
// labels are built only for the family being filled, not for all of them on every pass.
void SnapshotFamilies::AddDomain(const std::string& domain, const DomainState& state) {
  const ClientMetric::Label by_domain{"domain", domain};
  if (Wants(posture_changes)) {
    Put(posture_changes, {by_domain}, static_cast<double>(state.posture_changes));
  }
  if (state.next_check_ms != 0 && Wants(next_check)) {
    Put(next_check, {by_domain}, Seconds(state.next_check_ms));
  }
  if (!state.report) return;  // not checked yet: nothing observed to publish
  if (selected == &posture_changes || selected == &next_check) return;  // no need to unpack
  const DomainReport report = state.report.Unpack();

  const policy::Policy* valid_policy =
      report.policy.valid && report.policy.policy.has_value() ? &*report.policy.policy : nullptr;

  if (Wants(enforced)) Put(enforced, {by_domain}, Bit(report.enforced));
  if (Wants(mode)) {
    const std::string_view current_mode =
        valid_policy != nullptr ? policy::ModeName(valid_policy->mode) : "unknown";
    for (std::string_view value : kModeValues) {
      Put(mode, {by_domain, {"mode", std::string(value)}}, Bit(value == current_mode));
    }
  }

  if (Wants(issue)) {
    for (const Issue& active : report.issues) {
      Put(issue,
          {by_domain,
           {"code", std::string(IssueCodeName(active.code))},
           {"severity", std::string(SeverityName(active.severity))}},
          1);
    }
  }
  if (Wants(issues)) {
    std::map<Severity, int> per_severity;
    for (const Issue& active : report.issues) ++per_severity[active.severity];
    for (Severity severity : kAllSeverities) {
      Put(issues, {by_domain, {"severity", std::string(SeverityName(severity))}},
          per_severity[severity]);
    }
  }

  if (Wants(record_present)) Put(record_present, {by_domain}, Bit(report.sts_record.found));
  if (Wants(policy_valid)) Put(policy_valid, {by_domain}, Bit(report.policy.valid));
  if (Wants(tls_rpt_present)) Put(tls_rpt_present, {by_domain}, Bit(report.tls_rpt.found));
  if (valid_policy != nullptr && Wants(max_age)) Put(max_age, {by_domain}, valid_policy->max_age);

  // Present when either half is known; the unknown half is the empty string.
  const std::string* version = valid_policy != nullptr ? &valid_policy->version : nullptr;
  if ((report.sts_record.id.has_value() || version != nullptr) && Wants(policy_info)) {
    Put(policy_info,
        {by_domain,
         {"id", report.sts_record.id.value_or("")},
         {"version", version != nullptr ? *version : ""}},
        1);
  }

  if (report.history && report.history->policy_first_seen_ms && Wants(policy_first_seen)) {
    Put(policy_first_seen, {by_domain}, Seconds(*report.history->policy_first_seen_ms));
  }
  if (report.policy.certificate && report.policy.certificate->not_after &&
      Wants(policy_cert_expiry)) {
    Put(policy_cert_expiry, {by_domain},
        static_cast<double>(*report.policy.certificate->not_after));
  }
  if (!report.mx.probes.empty() &&
      (Wants(mx_starttls) || Wants(mx_cert_valid) || Wants(mx_cert_expiry))) {
    AddMxProbes(by_domain, report.mx);
  }

  if (Wants(check_success)) Put(check_success, {by_domain}, Bit(report.check_complete));
  if (Wants(last_check)) Put(last_check, {by_domain}, Seconds(report.checked_at_ms));
  if (Wants(last_duration)) Put(last_duration, {by_domain}, report.duration_seconds);
}

/// One series per MX host, folding its addresses: 0 when any address fails, the earliest expiry.
void SnapshotFamilies::AddMxProbes(const ClientMetric::Label& by_domain, const MxReport& mx) {
  struct PerHost {
    std::optional<bool> starttls, cert_valid;
    std::optional<std::int64_t> expiry;
  };
  std::map<std::string, PerHost> hosts;
  for (const MxProbe& probe : mx.probes) {
    if (!probe.reachable) continue;
    PerHost& host = hosts[probe.host];
    host.starttls = host.starttls.value_or(true) && probe.starttls;
    if (probe.cert_valid) host.cert_valid = host.cert_valid.value_or(true) && *probe.cert_valid;
    if (probe.cert_not_after)
      host.expiry = std::min(host.expiry.value_or(*probe.cert_not_after), *probe.cert_not_after);
  }
  for (const auto& [name, host] : hosts) {
    Labels labels{by_domain, {"mx", name}};
    if (host.starttls) Put(mx_starttls, labels, Bit(*host.starttls));
    if (host.cert_valid) Put(mx_cert_valid, labels, Bit(*host.cert_valid));
    if (host.expiry) Put(mx_cert_expiry, labels, static_cast<double>(*host.expiry));
  }
}

// Labels from the store are bounded already (README "Metrics"): the eleven result types of
// RFC 8460 §4.3 or `other`; `sts`, `tlsa`, `no-policy-found` or `other`.
void SnapshotFamilies::AddTlsRpt(const std::string& domain, const tlsrpt::DomainTotals& totals) {
  const ClientMetric::Label by_domain{"domain", domain};
  if (Wants(tlsrpt_reports)) Put(tlsrpt_reports, {by_domain}, static_cast<double>(totals.reports));
  if (Wants(tlsrpt_sessions)) {
    for (const auto& [key, n] : totals.sessions) {
      Put(tlsrpt_sessions, {by_domain, {"policy_type", key.first}, {"result", key.second}},
          static_cast<double>(n));
    }
  }
  if (Wants(tlsrpt_failed_sessions)) {
    for (const auto& [type, n] : totals.failed_by_result_type) {
      Put(tlsrpt_failed_sessions, {by_domain, {"result_type", type}}, static_cast<double>(n));
    }
  }
  if (totals.last_end_time > 0 && Wants(tlsrpt_last_report)) {
    Put(tlsrpt_last_report, {by_domain}, static_cast<double>(totals.last_end_time));
  }
}

void SnapshotFamilies::AddWebhook(const std::string& name, const WebhookStats& stats) {
  Put(webhook_deliveries, {{"webhook", name}, {"result", "success"}},
      static_cast<double>(stats.successes));
  Put(webhook_deliveries, {{"webhook", name}, {"result", "failure"}},
      static_cast<double>(stats.failures));
  Put(webhook_queue, {{"webhook", name}}, static_cast<double>(stats.queue_length));
}

}  // namespace

struct Metrics::Impl {
  explicit Impl(const InternalErrors& errors) : internal_errors(errors) {}
  const InternalErrors& internal_errors;
  std::atomic<std::uint64_t> generation{0};
  std::atomic<std::size_t> last_size{0};  // of the previous exposition, for reserve()
  prometheus::Registry registry;
  prometheus::Histogram* check_duration = nullptr;  // owned by registry
};

Metrics::Metrics(const InternalErrors& errors) : impl_(std::make_unique<Impl>(errors)) {
  prometheus::BuildGauge()
      .Name("mta_sts_exporter_build_info")
      .Help("Always 1: the version and git revision the exporter was built from.")
      .Register(impl_->registry)
      .Add({{"version", kVersion}, {"revision", kRevision}})
      .Set(1);
  impl_->check_duration =
      &prometheus::BuildHistogram()
           .Name("mta_sts_exporter_check_duration_seconds")
           .Help("Wall time of every domain check, in seconds.")
           .Register(impl_->registry)
           .Add({}, prometheus::Histogram::BucketBoundaries(kCheckDurationBuckets.begin(),
                                                            kCheckDurationBuckets.end()));
}

Metrics::~Metrics() = default;

void Metrics::ObserveCheckDuration(double seconds) {
  // A clock step could hand us nonsense; a NaN or negative sample would poison _sum for good.
  if (!std::isfinite(seconds) || seconds < 0) return;
  impl_->check_duration->Observe(seconds);
  ++impl_->generation;
}

std::uint64_t Metrics::Generation() const {
  // Both only grow, so their sum changes whenever either does.
  return impl_->generation.load() + impl_->internal_errors.Total();
}

std::string Metrics::Render(const Snapshot& snapshot) const {
  // One buffer sized from the previous render: no doubling reallocations (two copies alive at
  // once) and no final copy out of a stream.
  std::string out;
  out.reserve(impl_->last_size.load() + impl_->last_size.load() / 8);
  Render(snapshot, [&out](std::string_view text) { out.append(text); });
  impl_->last_size = out.size();
  return out;
}

namespace {

// Writes every family in name order: `mine` filled from `snapshot` one family at a time, then
// emptied; `process` complete already (the registry's, small).
void WriteFamilies(SnapshotFamilies& built, const std::vector<MetricFamily*>& mine,
                   std::vector<MetricFamily>& process, const Snapshot& snapshot,
                   const InternalErrors& internal_errors,
                   const std::function<void(std::string_view)>& write) {
  std::vector<std::pair<std::string, std::size_t>> order;  // name, index (ours first)
  for (std::size_t i = 0; i < mine.size(); ++i) order.emplace_back(mine[i]->name, i);
  for (std::size_t i = 0; i < process.size(); ++i)
    order.emplace_back(process[i].name, mine.size() + i);
  std::sort(order.begin(), order.end());
  const prometheus::TextSerializer serializer;
  std::vector<MetricFamily> one(1);
  bool header_written = false;  // of the family being written
  // Writes the series gathered in `from` and empties it. A family is written in chunks of
  // kDomainsPerChunk domains, so memory holds one chunk's series, not a family's; the chunks come
  // in domain order and every series starts with its domain label, so sorting each chunk sorts
  // the whole family. Its HELP and TYPE lines are written once, from the first chunk.
  auto flush = [&](MetricFamily& from) {
    if (from.metric.empty()) return;  // a family without a series says nothing
    one[0].name = from.name;
    one[0].help = from.help;
    one[0].type = from.type;
    one[0].metric = std::move(from.metric);
    from.metric.clear();
    if (one[0].type != MetricType::Histogram) SortSeries(one[0]);
    std::ostringstream part;
    serializer.Serialize(part, one);
    one[0].metric = {};  // free the chunk's series before writing out its text
    std::string_view text = part.view();
    while (header_written && !text.empty() && text.front() == '#') {
      text.remove_prefix(std::min(text.size(), text.find('\n') + 1));
    }
    header_written = true;
    write(text);
  };
  for (const auto& [name, index] : order) {
    header_written = false;
    if (index >= mine.size()) {
      flush(process[index - mine.size()]);
      continue;
    }
    MetricFamily& family = *mine[index];
    built.selected = &family;
    if (&family == &built.domains_watched) {
      Add(family, {}, static_cast<double>(snapshot.domains.size()));
    } else if (&family == &built.reload_ok) {
      Add(family, {}, Bit(snapshot.config_last_reload_successful));
    } else if (&family == &built.internal_errors) {
      // Every kind always present (0 until one happens), so rate() and increase() see the first.
      for (ThreadKind kind : kAllThreadKinds) {
        Add(family, {{"thread", std::string(ThreadKindName(kind))}},
            static_cast<double>(internal_errors.Count(kind)));
      }
    } else if (&family == &built.tlsrpt_rejected) {
      // Every reason always present (0 until one happens), as for internal errors.
      for (std::string_view reason : kTlsRptRejectReasons) {
        auto it = snapshot.tlsrpt.rejected.find(std::string(reason));
        Add(family, {{"reason", std::string(reason)}},
            it == snapshot.tlsrpt.rejected.end() ? 0.0 : static_cast<double>(it->second));
      }
    } else if (&family == &built.tlsrpt_reports || &family == &built.tlsrpt_sessions ||
               &family == &built.tlsrpt_failed_sessions || &family == &built.tlsrpt_last_report) {
      // Watched domains only: a domain leaves the exposition when it leaves the config.
      std::size_t in_chunk = 0;
      for (const auto& [domain, totals] : snapshot.tlsrpt.domains) {
        if (!snapshot.domains.contains(domain)) continue;
        built.AddTlsRpt(domain, totals);
        if (++in_chunk == kDomainsPerChunk) {
          flush(family);
          in_chunk = 0;
        }
      }
    } else {
      std::size_t in_chunk = 0;
      for (const auto& [domain, state] : snapshot.domains) {
        built.AddDomain(domain, state);
        if (++in_chunk == kDomainsPerChunk) {
          flush(family);
          in_chunk = 0;
        }
      }
      for (const auto& [hook, stats] : snapshot.webhooks) built.AddWebhook(hook, stats);
    }
    flush(family);
  }
}

}  // namespace

void Metrics::Render(const Snapshot& snapshot,
                     const std::function<void(std::string_view)>& write) const {
  SnapshotFamilies built;
  std::vector<MetricFamily*> mine;
  for (MetricFamily* family : {&built.enforced,
                               &built.mode,
                               &built.issues,
                               &built.issue,
                               &built.record_present,
                               &built.policy_valid,
                               &built.tls_rpt_present,
                               &built.max_age,
                               &built.policy_info,
                               &built.check_success,
                               &built.last_check,
                               &built.next_check,
                               &built.last_duration,
                               &built.posture_changes,
                               &built.webhook_deliveries,
                               &built.webhook_queue,
                               &built.domains_watched,
                               &built.reload_ok,
                               &built.policy_first_seen,
                               &built.mx_starttls,
                               &built.mx_cert_valid,
                               &built.mx_cert_expiry,
                               &built.policy_cert_expiry,
                               &built.tlsrpt_reports,
                               &built.tlsrpt_sessions,
                               &built.tlsrpt_failed_sessions,
                               &built.tlsrpt_last_report,
                               &built.tlsrpt_rejected,
                               &built.internal_errors}) {
    mine.push_back(family);
  }
  std::vector<MetricFamily> process = impl_->registry.Collect();
  WriteFamilies(built, mine, process, snapshot, impl_->internal_errors, write);
}

std::string Metrics::RenderProbe(const std::string& domain, const DomainReport& report,
                                 double duration_seconds) {
  // The families /metrics has for a watched domain's report (README "Probing domains listed in
  // Prometheus"), without what only a watched domain has: its schedule, posture changes, webhooks
  // and stored TLS-RPT reports.
  SnapshotFamilies built;
  const std::vector<MetricFamily*> mine = {
      &built.enforced,          &built.mode,          &built.issues,          &built.issue,
      &built.record_present,    &built.policy_valid,  &built.tls_rpt_present, &built.max_age,
      &built.policy_info,       &built.check_success, &built.last_check,      &built.last_duration,
      &built.policy_first_seen, &built.mx_starttls,   &built.mx_cert_valid,   &built.mx_cert_expiry,
      &built.policy_cert_expiry};
  std::vector<MetricFamily> probe = {
      Gauge("mta_sts_probe_success", "1 when the probe's check ran to the end."),
      Gauge("mta_sts_probe_duration_seconds", "Wall time of the probe, in seconds.")};
  Add(probe[0], {}, Bit(report.check_complete));
  Add(probe[1], {}, std::isfinite(duration_seconds) ? std::max(duration_seconds, 0.0) : 0.0);
  Snapshot snapshot;
  snapshot.domains[domain].report = PackedReport(report);
  std::string out;
  WriteFamilies(built, mine, probe, snapshot, InternalErrors::Process(),
                [&out](std::string_view text) { out.append(text); });
  return out;
}

}  // namespace mtasts::agent
