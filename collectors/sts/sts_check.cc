#include "collectors/sts/sts_check.h"

#include "collectors/check/checks.h"
#include "collectors/sts/sts_record.h"

namespace mtasts::sts {

void ApplyStsRecord(std::string_view domain, const Result<dns::TxtAnswer>& answer,
                    DomainReport& report) {
  const std::string name = "_mta-sts." + std::string(domain);
  if (!answer) {
    report.check_complete = false;
    report.AddIssue(IssueCode::kDnsError, answer.error().message);
    return;
  }
  if (answer->presence != dns::Presence::kFound) {
    report.AddIssue(
        IssueCode::kStsRecordMissing,
        "no TXT record at " + name +
            (answer->presence == dns::Presence::kNxDomain ? " (NXDOMAIN)" : " (no TXT data)") +
            ": MTA-STS is not published");
    return;
  }
  StsRecordSelection selection = SelectStsRecord(answer->records);
  auto& out = report.sts_record;
  for (const auto& record : answer->records) {
    if (record.rfind("v=STSv1", 0) == 0) out.candidates.push_back(record);
  }
  out.found = selection.status != RecordStatus::kMissing;
  out.record = selection.raw;
  switch (selection.status) {
    case RecordStatus::kMissing:
      report.AddIssue(IssueCode::kStsRecordMissing,
                      std::to_string(answer->records.size()) + " TXT record(s) at " + name +
                          ", none beginning with v=STSv1: MTA-STS is not published");
      break;
    case RecordStatus::kInvalid:
      report.AddIssue(IssueCode::kStsRecordInvalid,
                      "the TXT record at " + name + " is unusable: " + selection.problem +
                          "; senders treat the domain as having no MTA-STS");
      break;
    case RecordStatus::kValid:
      out.valid = true;
      out.id = selection.record->id;
      break;
  }
}

}  // namespace mtasts::sts

namespace mtasts::check {

StsRecordCheck::StsRecordCheck()
    : Check({"sts_record",
             "RFC 8461 §3.1",
             Scope::kEveryCheck,
             {IssueCode::kStsRecordMissing, IssueCode::kStsRecordInvalid, IssueCode::kDnsError}}) {}

void StsRecordCheck::Judge(const Observations& seen, const JudgeContext& /*context*/,
                           DomainReport& report) const {
  if (seen.sts_txt) sts::ApplyStsRecord(seen.domain, *seen.sts_txt, report);
}

}  // namespace mtasts::check
