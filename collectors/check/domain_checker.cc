#include "collectors/check/domain_checker.h"

#include <algorithm>
#include <future>
#include <optional>
#include <vector>

#include "base/clock.h"
#include "collectors/check/registry.h"
#include "collectors/policy/policy_check.h"
#include "collectors/smtp/mx_phase.h"
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

  // The MX phase (TLSA lookups, STARTTLS probes) runs beside the policy fetch without a
  // thread of its own: the MX answer first, then its lookups (and probes) are started before the
  // fetch and awaited after it. The MX answer is awaited for at most half the budget before the
  // fetch, so that a server that never answers MX cannot starve the policy fetch; a later answer
  // is still taken after the fetch, within the deadline.
  const Deadline mx_cutoff(started + options_.timeout / 2);
  const smtp::ProbeSettings probe_settings{probe_mx && prober_.has_value(), options_.smtp_port,
                                           options_.ehlo_name};
  const smtp::SmtpProber no_prober(nullptr);  // never called: probe_settings.probe is false
  const smtp::SmtpProber& prober = prober_ ? *prober_ : no_prober;
  check::Observations seen;
  seen.domain = domain;
  std::optional<smtp::MxPhase> mx_phase;
  const auto take_mx_answer = [&] {  // waits for it until the deadline when not yet answered
    seen.mx = dns::Await(mx_lookup, deadline, "MX " + domain);
    if (!*seen.mx || (*seen.mx)->presence != dns::Presence::kFound) return;
    std::vector<std::string> hosts;
    for (const auto& record : (*seen.mx)->records) {
      if (!record.host.empty()) hosts.push_back(record.host);
    }
    mx_phase.emplace(hosts, probe_settings, *resolver);  // the check's channel
  };
  if (mx_lookup.Valid() && mx_lookup.WaitUntil(mx_cutoff.at()) == std::future_status::ready) {
    take_mx_answer();
    if (mx_phase) mx_phase->StartProbes(guard_, prober, mx_cutoff, deadline);
  }

  seen.policy = policy::RetrievePolicy(domain, policy_host_lookup, guard_, fetcher_, deadline);
  seen.sts_txt = dns::Await(sts_lookup, deadline, "TXT " + sts_name);
  seen.tlsrpt_txt = dns::Await(tlsrpt_lookup, deadline, "TXT " + tlsrpt_name);
  if (!seen.mx) take_mx_answer();
  if (mx_phase) seen.mx_hosts = std::move(*mx_phase).Finish(guard_, prober, deadline);

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
