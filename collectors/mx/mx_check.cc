#include "collectors/mx/mx_check.h"

#include "collectors/check/checks.h"
#include "collectors/mx/mx_matcher.h"

namespace mtasts::mx {

void ApplyMx(std::string_view domain, const Result<dns::MxAnswer>& answer, DomainReport& report) {
  if (!answer) {
    report.check_complete = false;
    report.AddIssue(IssueCode::kDnsError, answer.error().message);
    return;
  }
  if (answer->presence != dns::Presence::kFound) {
    report.AddIssue(IssueCode::kMxMissing,
                    std::string(domain) + " publishes no MX records" +
                        (answer->presence == dns::Presence::kNxDomain ? " (NXDOMAIN)" : "") +
                        ": senders fall back to its address, which MTA-STS cannot cover");
    return;
  }
  bool null_mx = false;
  for (const auto& record : answer->records) {
    if (record.host.empty()) {
      null_mx = true;  // RFC 7505 "MX 0 ." : the domain accepts no mail
    } else {
      report.mx.hosts.push_back(record.host);
    }
  }
  if (report.mx.hosts.empty()) {
    report.AddIssue(IssueCode::kMxMissing,
                    std::string(domain) + (null_mx ? " publishes a null MX (RFC 7505): it accepts "
                                                     "no mail, so MTA-STS protects nothing"
                                                   : " publishes no usable MX records"));
    return;
  }
  if (!report.policy.valid || report.policy.policy->mode == policy::Mode::kNone) return;
  const auto& policy = *report.policy.policy;
  report.mx.uncovered = UncoveredHosts(policy.mx, report.mx.hosts);
  if (report.mx.uncovered.empty()) return;

  std::string hosts;
  for (const auto& host : report.mx.uncovered) hosts += (hosts.empty() ? "" : ", ") + host;
  std::string patterns;
  for (const auto& pattern : policy.mx) patterns += (patterns.empty() ? "" : ", ") + pattern;
  const bool enforce = policy.mode == policy::Mode::kEnforce;
  report.AddIssue(IssueCode::kMxNotCovered, enforce ? Severity::kCritical : Severity::kHigh,
                  "MX host(s) " + hosts + " match none of the policy's mx patterns (" + patterns +
                      ")" +
                      (enforce ? ": senders that enforce MTA-STS will refuse to deliver to them"
                               : ": senders will report failures for them"));
}

}  // namespace mtasts::mx

namespace mtasts::check {

MxCheck::MxCheck()
    : Check({"mx",
             "RFC 8461 §4.1",
             Scope::kEveryCheck,
             {IssueCode::kMxNotCovered, IssueCode::kMxMissing, IssueCode::kDnsError}}) {}

void MxCheck::Judge(const Observations& seen, const JudgeContext& /*context*/,
                    DomainReport& report) const {
  // After the policy check: coverage is judged against report.policy.
  if (seen.mx) mx::ApplyMx(seen.domain, *seen.mx, report);
}

}  // namespace mtasts::check
