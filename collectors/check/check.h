#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "collectors/dns/resolver.h"
#include "collectors/history/history.h"
#include "collectors/policy/policy_check.h"
#include "collectors/report/issue_codes.h"
#include "collectors/report/report.h"
#include "collectors/smtp/mx_probe_check.h"
#include "collectors/tlsrpt/tlsrpt_window.h"

/// The seam every check judges through (README "What it checks"). The I/O half of a domain's
/// check (DomainChecker) gathers `Observations`; each check then judges them, in the registry's
/// order, into the one report.
namespace mtasts::check {

/// Everything one check of one domain observed on the wire. An unset member was not looked
/// up (the policy-only check reads no TXT or MX), and the checks that judge it stay silent.
struct Observations {
  std::string domain;                                // A-label form
  std::optional<Result<dns::TxtAnswer>> sts_txt;     // _mta-sts.<domain> TXT
  std::optional<policy::PolicyRetrieval> policy;     // the policy host lookup and fetch
  std::optional<Result<dns::TxtAnswer>> tlsrpt_txt;  // _smtp._tls.<domain> TXT
  std::optional<Result<dns::MxAnswer>> mx;           // <domain> MX
  smtp::MxObservation mx_hosts;                      // TLSA lookups and STARTTLS probes
};

/// What a check knows that was not observed on the wire. A check with a new input (a store the
/// daemon keeps) gets one field here, unset for the checks that do not have it.
struct JudgeContext {
  std::int64_t now_ms = 0;  // Unix milliseconds: the time the check started
  /// The daemon's memory of the domain's policy, which the `history` check judges against and
  /// moves on (README "History-aware checks"). Null for one-shot checks (the CLI, /v1/check,
  /// /v1/policy): the `history` check then does nothing.
  history::PolicyHistory* memory = nullptr;
  /// What the daemon's stored TLS-RPT reports say of the domain within `tlsrpt.window`, which
  /// the `tlsrpt_reports` check judges (README "TLS-RPT reports"). Null for one-shot checks:
  /// the check then does nothing.
  const tlsrpt::TlsRptWindow* tlsrpt_window = nullptr;
};

/// When a check's codes can appear (shown by /v1/meta).
enum class Scope {
  kEveryCheck,  // every check: the CLI, /v1/check and the daemon
  kProbeMx,     // only when MX hosts are probed (probe_mx)
  kDaemon,      // only the daemon's scheduled checks of watched domains
};
std::string_view ScopeText(Scope scope);

/// What a check declares: its name (as /v1/meta shows it), the RFC sections it judges, when it
/// applies and every issue code it can raise.
struct CheckInfo {
  std::string_view name;
  std::string_view spec;
  Scope scope = Scope::kEveryCheck;
  std::vector<IssueCode> codes;
};

/// One check. Judge is pure (no I/O): it reads the observations, the context and the verdicts
/// of the checks before it in the registry, and adds its own to the report (the `history` check
/// also moves the memory of the context on). It never throws for a finding.
class Check {
 public:
  explicit Check(CheckInfo info) : info_(std::move(info)) {}
  virtual ~Check() = default;
  Check(const Check&) = delete;
  Check& operator=(const Check&) = delete;
  Check(Check&&) = delete;
  Check& operator=(Check&&) = delete;

  const CheckInfo& info() const { return info_; }
  virtual void Judge(const Observations& seen, const JudgeContext& context,
                     DomainReport& report) const = 0;

 private:
  CheckInfo info_;
};

}  // namespace mtasts::check
