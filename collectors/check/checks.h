#pragma once

#include "collectors/check/check.h"

/// The checks of the registry (collectors/check/registry.cc lists them in order). Each is
/// defined beside the judgement it runs, in its collector's directory.
namespace mtasts::check {

/// The `sts_record` check (RFC 8461 §3.1): judges Observations::sts_txt with ApplyStsRecord.
class StsRecordCheck final : public Check {
 public:
  StsRecordCheck();
  void Judge(const Observations& seen, const JudgeContext& context,
             DomainReport& report) const override;
};

/// The `tls_rpt` check (RFC 8460 §3): judges Observations::tlsrpt_txt with ApplyTlsRpt.
class TlsRptCheck final : public Check {
 public:
  TlsRptCheck();
  void Judge(const Observations& seen, const JudgeContext& context,
             DomainReport& report) const override;
};

/// The `mx` check (RFC 8461 §4.1): judges Observations::mx with ApplyMx. Reads the policy's
/// verdict (report.policy), so it comes after the `policy` check in the registry.
class MxCheck final : public Check {
 public:
  MxCheck();
  void Judge(const Observations& seen, const JudgeContext& context,
             DomainReport& report) const override;
};

/// The `policy` check (RFC 8461 §3.2, §3.3): judges Observations::policy with ApplyPolicy.
/// Reads whether the `sts_record` check found no record, so it comes after it in the registry.
class PolicyCheck final : public Check {
 public:
  PolicyCheck();
  void Judge(const Observations& seen, const JudgeContext& context,
             DomainReport& report) const override;
};

/// The `mx_probe` check (RFC 8461 §4.2, RFC 3207, RFC 7672): judges Observations::mx_hosts
/// with ApplyMxObservation. Reads the policy's mode (report.policy), so it comes after the
/// `policy` check in the registry. Its codes appear only when MX hosts are probed.
class MxProbeCheck final : public Check {
 public:
  MxProbeCheck();
  void Judge(const Observations& seen, const JudgeContext& context,
             DomainReport& report) const override;
};

/// The `policy_certificate` check (RFC 8461 §3.3): ApplyPolicyCertExpiry on the certificate the
/// `policy` check recorded (report.policy.certificate), so it comes after it in the registry.
class PolicyCertificateCheck final : public Check {
 public:
  PolicyCertificateCheck();
  void Judge(const Observations& seen, const JudgeContext& context,
             DomainReport& report) const override;
};

/// The `tlsrpt_reports` check (RFC 8460 §4): judges the stored TLS-RPT reports of the domain
/// (JudgeContext::tlsrpt_window) with tlsrpt::ApplyTlsRptWindow. Reads the policy's mode and the
/// served policy (report.policy), so it comes after the `policy` check, and the memory before
/// the `history` check moves it on, so it comes before that one. Only the daemon keeps reports:
/// without them it does nothing.
class TlsRptReportsCheck final : public Check {
 public:
  TlsRptReportsCheck();
  void Judge(const Observations& seen, const JudgeContext& context,
             DomainReport& report) const override;
};

/// The `history` check (RFC 8461 §3.1, §5.1): judges the report against the daemon's memory of
/// the domain (JudgeContext::memory) with history::JudgeHistory, and moves the memory on. Reads
/// the verdicts of the `sts_record` and `policy` checks (the id, the valid policy), so it comes
/// after every other check in the registry. Only the daemon has a memory: without one it does
/// nothing.
class HistoryCheck final : public Check {
 public:
  HistoryCheck();
  void Judge(const Observations& seen, const JudgeContext& context,
             DomainReport& report) const override;
};

}  // namespace mtasts::check
