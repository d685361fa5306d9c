#include "collectors/tlsrpt/tlsrpt_check.h"

#include "collectors/check/checks.h"
#include "collectors/tlsrpt/tlsrpt_record.h"

namespace mtasts::tlsrpt {

void ApplyTlsRpt(std::string_view domain, const Result<dns::TxtAnswer>& answer,
                 DomainReport& report) {
  const std::string name = "_smtp._tls." + std::string(domain);
  if (!answer) {
    report.check_complete = false;
    report.AddIssue(IssueCode::kDnsError, answer.error().message);
    return;
  }
  const std::string consequence = ": senders will not report TLS delivery failures (RFC 8460)";
  if (answer->presence != dns::Presence::kFound) {
    report.AddIssue(IssueCode::kTlsRptMissing, "no TLS-RPT TXT record at " + name + consequence);
    return;
  }
  TlsRptSelection selection = SelectTlsRptRecord(answer->records);
  auto& out = report.tls_rpt;
  out.found = selection.status != RecordStatus::kMissing;
  out.record = selection.raw;
  switch (selection.status) {
    case RecordStatus::kMissing:
      report.AddIssue(IssueCode::kTlsRptMissing,
                      "no TXT record at " + name + " begins with v=TLSRPTv1" + consequence);
      break;
    case RecordStatus::kInvalid:
      report.AddIssue(IssueCode::kTlsRptInvalid,
                      "the TLS-RPT record at " + name + " is unusable: " + selection.problem);
      break;
    case RecordStatus::kValid:
      out.valid = true;
      out.rua = selection.record->rua;
      break;
  }
}

}  // namespace mtasts::tlsrpt

namespace mtasts::check {

TlsRptCheck::TlsRptCheck()
    : Check({"tls_rpt",
             "RFC 8460 §3",
             Scope::kEveryCheck,
             {IssueCode::kTlsRptMissing, IssueCode::kTlsRptInvalid, IssueCode::kDnsError}}) {}

void TlsRptCheck::Judge(const Observations& seen, const JudgeContext& /*context*/,
                        DomainReport& report) const {
  if (seen.tlsrpt_txt) tlsrpt::ApplyTlsRpt(seen.domain, *seen.tlsrpt_txt, report);
}

}  // namespace mtasts::check
