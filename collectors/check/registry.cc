#include "collectors/check/registry.h"

#include <algorithm>
#include <stdexcept>

#include "collectors/check/checks.h"

namespace mtasts::check {

std::string_view ScopeText(Scope scope) {
  switch (scope) {
    case Scope::kEveryCheck: return "every check";
    case Scope::kProbeMx: return "checks that probe the MX hosts (probe_mx)";
    case Scope::kDaemon: return "the daemon's scheduled checks of watched domains (not /v1/check)";
  }
  throw std::logic_error("unknown check scope");
}

const std::vector<std::unique_ptr<const Check>>& Registry() {
  // The order is the judging order: a check that reads another's verdict from the report comes
  // after it (each such check says so). A new check is one class and one line here.
  static const std::vector<std::unique_ptr<const Check>> kRegistry = [] {
    std::vector<std::unique_ptr<const Check>> checks;
    checks.push_back(std::make_unique<StsRecordCheck>());
    checks.push_back(std::make_unique<PolicyCheck>());
    checks.push_back(std::make_unique<TlsRptCheck>());
    checks.push_back(std::make_unique<MxCheck>());
    checks.push_back(std::make_unique<MxProbeCheck>());
    checks.push_back(std::make_unique<PolicyCertificateCheck>());
    checks.push_back(std::make_unique<TlsRptReportsCheck>());
    checks.push_back(std::make_unique<HistoryCheck>());
    return checks;
  }();
  return kRegistry;
}

std::vector<CheckInfo> Catalogue() {
  std::vector<CheckInfo> catalogue;
  for (const auto& check : Registry()) catalogue.push_back(check->info());
  return catalogue;
}

void JudgeDomain(const Observations& seen, const JudgeContext& context, DomainReport& report) {
  for (const auto& check : Registry()) check->Judge(seen, context, report);
  FinishReport(report);
}

}  // namespace mtasts::check

namespace mtasts {

void FinishReport(DomainReport& report) {
  std::stable_sort(report.issues.begin(), report.issues.end(),
                   [](const Issue& a, const Issue& b) { return a.severity < b.severity; });
  // A policy served as anything but text/plain is parsed and shown, but it was not fetched under
  // the rules (RFC 8461 §3.2): common resolvers discard it, so senders using them are not
  // protected (README "What it checks").
  report.enforced = report.sts_record.valid && report.policy.valid &&
                    policy::IsTextPlain(report.policy.content_type.value_or("")) &&
                    report.policy.policy->mode == policy::Mode::kEnforce;
}

}  // namespace mtasts
