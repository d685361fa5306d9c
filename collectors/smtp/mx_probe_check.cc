#include "collectors/smtp/mx_probe_check.h"

#include <algorithm>

#include "collectors/check/checks.h"
#include "collectors/net/certificate_verify.h"
#include "collectors/policy/policy_check.h"

namespace mtasts::smtp {
namespace {

std::string Days(std::int64_t seconds) {
  const std::int64_t days = seconds / 86400;
  return days == 1 ? "1 day" : std::to_string(days) + " days";
}

}  // namespace

std::string TlsaToText(const dns::TlsaRecord& record) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = std::to_string(record.usage) + " " + std::to_string(record.selector) + " " +
                    std::to_string(record.matching_type) + " ";
  for (std::uint8_t byte : record.data) {
    out += kHex[byte >> 4];
    out += kHex[byte & 0x0F];
  }
  return out;
}

void ApplyMxObservation(const MxObservation& observation, std::int64_t now, DomainReport& report) {
  report.mx.probed = observation.probed;
  const auto& policy = report.policy.policy;
  const bool has_policy = report.policy.valid && policy && policy->mode != policy::Mode::kNone;
  const bool enforce = has_policy && policy->mode == policy::Mode::kEnforce;
  // RFC 8461 §5: in enforce, senders will not deliver to a host failing these; in testing they
  // deliver and report. Without a policy, senders use opportunistic TLS: a missing STARTTLS
  // still sends mail in clear text (high), a bad certificate only matters to DANE/MTA-STS
  // senders (medium).
  const Severity starttls_severity = enforce ? Severity::kCritical : Severity::kHigh;
  const Severity cert_severity =
      enforce ? Severity::kCritical : (has_policy ? Severity::kHigh : Severity::kMedium);
  const std::string consequence =
      enforce ? ": senders that enforce MTA-STS will not deliver to it"
              : (has_policy ? ": senders will report failures (mode testing)" : "");

  for (const auto& host : observation.hosts) {
    if (host.tlsa) {
      MxDane dane;
      dane.host = host.host;
      if (!*host.tlsa) {
        dane.error = host.tlsa->error().message;
      } else {
        const dns::TlsaAnswer& answer = **host.tlsa;
        dane.tlsa_present = answer.presence == dns::Presence::kFound;
        dane.dnssec_validated = answer.authenticated;
        for (const auto& record : answer.records) dane.records.push_back(TlsaToText(record));
      }
      report.mx.dane.push_back(std::move(dane));
    }
    if (!observation.probed) continue;
    if (host.address_error) {
      MxProbe probe;
      probe.host = host.host;
      probe.error = *host.address_error;
      report.mx.probes.push_back(probe);
      report.AddIssue(IssueCode::kMxUnreachable, *host.address_error + ": no mail can reach it");
      continue;
    }
    for (const auto& refused : host.refused) {
      MxProbe probe;
      probe.host = host.host;
      probe.address = refused.substr(0, refused.find(": "));
      probe.refused = true;
      probe.error = "not probed: the SSRF guard refuses " + refused;
      report.mx.probes.push_back(std::move(probe));
    }
    // The addresses of this host that answered: a dead address beside them is still
    // mx_unreachable, but senders try the next address (RFC 5321 §5.1), so the message says so.
    std::string answered;
    for (const auto& [address, result] : host.probes) {
      if (result.outcome != ProbeResult::Outcome::kConnectFailed &&
          result.outcome != ProbeResult::Outcome::kTimeout &&
          result.outcome != ProbeResult::Outcome::kProtocolError) {
        answered += (answered.empty() ? "" : ", ") + address;
      }
    }
    for (const auto& [address, result] : host.probes) {
      MxProbe probe;
      probe.host = host.host;
      probe.address = address;
      const std::string where = host.host + " (" + address + ")";
      using Outcome = ProbeResult::Outcome;
      switch (result.outcome) {
        case Outcome::kConnectFailed:
        case Outcome::kTimeout:
        case Outcome::kProtocolError:
          probe.error = result.message;
          report.AddIssue(IssueCode::kMxUnreachable,
                          answered.empty()
                              ? result.message
                              : result.message + "; " + host.host + " answered on " + answered +
                                    ", so senders that try its next address still reach it "
                                    "(RFC 5321 §5.1), after a delay");
          break;
        case Outcome::kNoStarttls:
        case Outcome::kTlsFailed:
          probe.reachable = true;
          probe.error = result.message;
          report.AddIssue(IssueCode::kMxStarttlsMissing, starttls_severity,
                          result.message + consequence);
          break;
        case Outcome::kTls: {
          probe.reachable = true;
          probe.starttls = true;
          probe.tls_version = result.tls_version;
          probe.cipher = result.cipher;
          if (!result.certificate) break;
          const net::CertificateInfo& cert = *result.certificate;
          probe.cert_valid = cert.verified;
          probe.cert_names = cert.dns_names;
          probe.cert_not_after = cert.not_after;
          if (!cert.verified) {
            probe.cert_error = net::DescribeCertificateFailure(where, host.host, cert);
            report.AddIssue(IssueCode::kMxCertInvalid, cert_severity,
                            *probe.cert_error + " (RFC 8461 §4.2)" + consequence);
          } else if (cert.not_after && *cert.not_after - now < kExpiryWarningSeconds) {
            report.AddIssue(IssueCode::kMxCertExpiring,
                            "the certificate of " + where + " expires on " +
                                net::FormatCertificateDate(*cert.not_after) + ", in " +
                                Days(std::max<std::int64_t>(*cert.not_after - now, 0)) +
                                "; renew it before senders refuse it");
          }
          break;
        }
      }
      report.mx.probes.push_back(std::move(probe));
    }
  }
}

void ApplyPolicyCertExpiry(std::int64_t now, DomainReport& report) {
  const auto& cert = report.policy.certificate;
  if (!cert || !cert->verified || !cert->not_after) return;
  const std::int64_t left = *cert->not_after - now;
  if (left >= kExpiryWarningSeconds) return;
  report.AddIssue(IssueCode::kPolicyCertExpiring,
                  "the certificate of " + policy::PolicyHost(report.domain) + " expires on " +
                      net::FormatCertificateDate(*cert->not_after) + ", in " +
                      Days(std::max<std::int64_t>(left, 0)) +
                      "; once it lapses senders cannot refresh the policy");
}

}  // namespace mtasts::smtp

namespace mtasts::check {

MxProbeCheck::MxProbeCheck()
    : Check({"mx_probe",
             "RFC 8461 §4.2, RFC 3207, RFC 7672",
             Scope::kProbeMx,
             {IssueCode::kMxStarttlsMissing, IssueCode::kMxCertInvalid, IssueCode::kMxUnreachable,
              IssueCode::kMxCertExpiring}}) {}

void MxProbeCheck::Judge(const Observations& seen, const JudgeContext& context,
                         DomainReport& report) const {
  // After the policy check: the severities follow report.policy's mode.
  smtp::ApplyMxObservation(seen.mx_hosts, context.now_ms / 1000, report);
}

PolicyCertificateCheck::PolicyCertificateCheck()
    : Check({"policy_certificate",
             "RFC 8461 §3.3",
             Scope::kEveryCheck,
             {IssueCode::kPolicyCertExpiring}}) {}

void PolicyCertificateCheck::Judge(const Observations& /*seen*/, const JudgeContext& context,
                                   DomainReport& report) const {
  // After the policy check: it reads the certificate the fetch presented (report.policy).
  smtp::ApplyPolicyCertExpiry(context.now_ms / 1000, report);
}

}  // namespace mtasts::check
