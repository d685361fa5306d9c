#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "collectors/check/registry.h"
#include "collectors/dns/resolver.h"
#include "collectors/history/history.h"
#include "collectors/net/address_policy.h"
#include "collectors/net/https_fetcher.h"
#include "collectors/report/report.h"
#include "collectors/smtp/smtp_prober.h"
#include "collectors/tlsrpt/tlsrpt_window.h"

namespace mtasts {

struct CheckerOptions {
  std::chrono::milliseconds timeout{10000};  // budget for one whole domain check
  std::uint16_t smtp_port = 25;              // where MX hosts are probed (tests move it)
  std::string ehlo_name = "localhost";       // our name in EHLO
};

/// A scheduled check of a watched domain: the report, and the daemon's memory of the domain
/// after the `history` check moved it on.
struct CheckOutcome {
  DomainReport report;
  history::PolicyHistory memory_after;
};

/// Runs every check of one domain: the _mta-sts, _smtp._tls and MX lookups go out at once and
/// stay in flight while the policy host is resolved, vetted and fetched; then the checks of the
/// registry judge the observations (check::JudgeDomain). Thread-safe: one checker serves many
/// concurrent checks.
class DomainChecker {
 public:
  DomainChecker(std::shared_ptr<dns::Resolver> resolver, net::AddressPolicy guard,
                net::HttpsFetcher fetcher, CheckerOptions options,
                std::optional<smtp::SmtpProber> prober = std::nullopt);

  /// `domain` must already be normalised (NormalizeDomain). Never throws for findings.
  /// `probe_mx`: also probe every MX address for STARTTLS (needs a prober; port 25 outbound).
  DomainReport Check(const std::string& domain, bool probe_mx = false) const;

  /// The daemon's check of a watched domain: the same, and the `history` check judges the
  /// report against `memory`, the domain's memory before it (README "History-aware checks"), and
  /// the `tlsrpt_reports` check against `tlsrpt_window`, what the stored TLS-RPT reports say of
  /// the domain (null: none are kept).
  CheckOutcome Check(const std::string& domain, bool probe_mx, history::PolicyHistory memory,
                     const tlsrpt::TlsRptWindow* tlsrpt_window = nullptr) const;

  /// The cheap re-read between full checks: the id of the single valid `_mta-sts` record
  /// (nullopt when there is none), or an error when DNS did not answer.
  Result<std::optional<std::string>> CurrentStsId(const std::string& domain) const;

  /// Only the policy file: host lookup, guard, fetch and parse.
  DomainReport CheckPolicyOnly(const std::string& domain) const;

 private:
  std::shared_ptr<dns::Resolver> resolver_;
  net::AddressPolicy guard_;
  net::HttpsFetcher fetcher_;
  DomainReport Run(const std::string& domain, bool probe_mx, history::PolicyHistory* memory,
                   const tlsrpt::TlsRptWindow* tlsrpt_window) const;

  CheckerOptions options_;
  std::optional<smtp::SmtpProber> prober_;
};

}  // namespace mtasts
