// libFuzzer target: the TLS-RPT report parser (RFC 8460 §4) on any byte sequence. Whatever it
// accepts must respect every bound it promises.
#include <cstddef>
#include <cstdint>
#include <string>

#include "collectors/tlsrpt/report/report_parser.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

void CheckText(const std::string& text, std::size_t max, const char* what) {
  mtasts::fuzz::Require(text.size() <= max, what, text);
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    mtasts::fuzz::Require(u >= 0x20 && u != 0x7f, "no control characters", text);
  }
  mtasts::fuzz::Require(mtasts::tlsrpt::SanitizeForDisplay(text) == text, "already sanitised",
                        text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  using namespace mtasts;
  using namespace mtasts::tlsrpt;
  const ParseLimits limits;
  auto parsed = ParseReport(fuzz::AsText(data, size), limits);
  if (!parsed) {
    fuzz::Require(!parsed.error().message.empty(), "a refusal says why");
    return 0;
  }
  const Report& r = parsed.value();
  fuzz::Require(!r.organization_name.empty() && !r.report_id.empty(), "required names present");
  CheckText(r.organization_name, limits.max_field_octets, "organization-name bounded");
  CheckText(r.report_id, limits.max_field_octets, "report-id bounded");
  CheckText(r.contact_info, limits.max_field_octets, "contact-info bounded");
  fuzz::Require(r.end_time >= r.start_time && r.start_time >= 0, "a forward date range");
  fuzz::Require(!r.policies.empty() && r.policies.size() <= limits.max_policies,
                "policies bounded");
  fuzz::Require(r.notes.size() <= 21, "notes bounded");
  std::size_t details = 0;
  for (const PolicyResult& p : r.policies) {
    fuzz::Require(!p.policy_domain.empty(), "a policy domain");
    fuzz::Require(p.successful_sessions >= 0 && p.successful_sessions <= limits.max_count &&
                      p.failed_sessions >= 0 && p.failed_sessions <= limits.max_count,
                  "counts bounded");
    fuzz::Require(p.policy_string.size() <= limits.max_list_entries &&
                      p.mx_host.size() <= limits.max_list_entries,
                  "lists bounded");
    for (const auto& line : p.policy_string) CheckText(line, limits.max_field_octets, "lines");
    std::int64_t sum = 0;
    for (const FailureDetail& d : p.failure_details) {
      fuzz::Require(d.failed_session_count >= 0 && d.failed_session_count <= limits.max_count,
                    "detail count bounded");
      fuzz::Require((d.result_type == ResultType::kOther) ==
                        (ParseResultType(d.result_type_raw) == ResultType::kOther),
                    "label agrees with the raw result type", d.result_type_raw);
      CheckText(d.receiving_mx_hostname, limits.max_field_octets, "hostname bounded");
      CheckText(d.additional_information, limits.max_field_octets, "free text cut");
      CheckText(d.failure_reason_code, limits.max_field_octets, "free text cut");
      sum += d.failed_session_count;
    }
    details += p.failure_details.size();
    fuzz::Require(sum == p.detail_failed_sessions && sum <= limits.max_count,
                  "the detail sum is the sum of the details");
  }
  fuzz::Require(details <= limits.max_failure_details, "details bounded");
  fuzz::Require(r.TotalSuccessfulSessions() <= limits.max_count &&
                    r.TotalFailedSessions() <= limits.max_count,
                "report sums bounded");
  return 0;
}
