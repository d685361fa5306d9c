#include "collectors/check/domain_checker.h"

#include <algorithm>
#include <future>

#include "base/clock.h"
#include "collectors/check/registry.h"
#include "collectors/policy/policy_check.h"
#include "collectors/sts/sts_record.h"

namespace mtasts {

DomainChecker::DomainChecker(std::shared_ptr<dns::Resolver> resolver, net::AddressPolicy guard,
                             net::HttpsFetcher fetcher, CheckerOptions options,
                             std::optional<smtp::SmtpProber> prober)
    : resolver_(std::move(resolver)),
      guard_(std::move(guard)),
      fetcher_(std::move(fetcher)),
      options_(std::move(options)),
      prober_(std::move(prober)) {}

DomainReport DomainChecker::Check(const std::string& domain, bool probe_mx) const {
  return Run(domain, probe_mx, nullptr, nullptr);
}

CheckOutcome DomainChecker::Check(const std::string& domain, bool probe_mx,
                                  history::PolicyHistory memory,
                                  const tlsrpt::TlsRptWindow* tlsrpt_window) const {
  DomainReport report = Run(domain, probe_mx, &memory, tlsrpt_window);
  return {std::move(report), std::move(memory)};
}

DomainReport DomainChecker::Run(const std::string& domain, bool probe_mx,
                                history::PolicyHistory* memory,
                                const tlsrpt::TlsRptWindow* tlsrpt_window) const {
  const auto started = std::chrono::steady_clock::now();
  const Deadline deadline(started + options_.timeout);
  DomainReport report;
  report.domain = domain;
  report.checked_at_ms = NowUnixMillis();

  // Every lookup of this check (the TLSA ones too) shares one channel, and none of another's.
  const std::unique_ptr<dns::Resolver> resolver = resolver_->ForCheck();
  const std::string sts_name = "_mta-sts." + domain;
  const std::string tlsrpt_name = "_smtp._tls." + domain;
  auto sts_lookup = resolver->Txt(sts_name);
  auto tlsrpt_lookup = resolver->Txt(tlsrpt_name);
  auto mx_lookup = resolver->Mx(domain);
  auto policy_host_lookup = resolver->Addresses(policy::PolicyHost(domain));

  // The MX phase (TLSA lookups, STARTTLS probes) runs beside the policy fetch.
  smtp::ProbeSettings probe_settings{probe_mx && prober_.has_value(), options_.smtp_port,
                                     options_.ehlo_name};
  auto mx_phase = std::async(std::launch::async, [&] {
    auto answer = dns::Await(mx_lookup, deadline, "MX " + domain);
    smtp::MxObservation observation;
    if (answer && answer->presence == dns::Presence::kFound) {
      std::vector<std::string> hosts;
      for (const auto& record : answer->records) {
        if (!record.host.empty()) hosts.push_back(record.host);
      }
      observation = smtp::ObserveMx(hosts, probe_settings, *resolver, guard_,
                                    prober_ ? *prober_ : smtp::SmtpProber(nullptr), deadline);
    }
    return std::make_pair(std::move(answer), std::move(observation));
  });

  check::Observations seen;
  seen.domain = domain;
  seen.policy = policy::RetrievePolicy(domain, policy_host_lookup, guard_, fetcher_, deadline);
  seen.sts_txt = dns::Await(sts_lookup, deadline, "TXT " + sts_name);
  seen.tlsrpt_txt = dns::Await(tlsrpt_lookup, deadline, "TXT " + tlsrpt_name);
  auto [mx_answer, mx_observation] = mx_phase.get();
  seen.mx = std::move(mx_answer);
  seen.mx_hosts = std::move(mx_observation);

  check::JudgeDomain(
      seen,
      check::JudgeContext{
          .now_ms = report.checked_at_ms, .memory = memory, .tlsrpt_window = tlsrpt_window},
      report);
  report.duration_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return report;
}

Result<std::optional<std::string>> DomainChecker::CurrentStsId(const std::string& domain) const {
  const std::string name = "_mta-sts." + domain;
  auto lookup = resolver_->Txt(name);
  auto answer = dns::Await(lookup, Deadline::After(options_.timeout), "TXT " + name);
  if (!answer) return answer.error();
  if (answer->presence != dns::Presence::kFound) return std::optional<std::string>();
  auto selection = sts::SelectStsRecord(answer->records);
  if (selection.status != RecordStatus::kValid) return std::optional<std::string>();
  return std::optional<std::string>(selection.record->id);
}

DomainReport DomainChecker::CheckPolicyOnly(const std::string& domain) const {
  const auto started = std::chrono::steady_clock::now();
  const Deadline deadline(started + options_.timeout);
  DomainReport report;
  report.domain = domain;
  report.checked_at_ms = NowUnixMillis();
  auto policy_host_lookup = resolver_->Addresses(policy::PolicyHost(domain));
  check::Observations seen;  // no TXT or MX lookup: `enforced` stays false without the record
  seen.domain = domain;
  seen.policy = policy::RetrievePolicy(domain, policy_host_lookup, guard_, fetcher_, deadline);
  check::JudgeDomain(seen, check::JudgeContext{report.checked_at_ms}, report);
  report.duration_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return report;
}

}  // namespace mtasts
