#include "collectors/common/report_json.h"

#include <ctime>

namespace mtasts {
namespace {

using nlohmann::json;

template <class T>
json OrNull(const std::optional<T>& value) {
  return value ? json(*value) : json(nullptr);
}

json CertificateToJson(const std::optional<net::CertificateInfo>& cert) {
  if (!cert) return nullptr;
  return {{"verified", cert->verified},
          {"error", cert->verified ? json(nullptr) : json(cert->verify_error)},
          {"dns_names", cert->dns_names},
          {"subject", cert->subject},
          {"issuer", cert->issuer},
          {"not_after",
           cert->not_after ? json(FormatRfc3339Millis(*cert->not_after * 1000)) : json(nullptr)}};
}

/// The fields of a policy shared by the report and /v1/policy.
void AddPolicyFields(const PolicyReport& policy, json& out) {
  out["found"] = policy.found;
  out["valid"] = policy.valid;
  out["url"] = policy.url;
  const auto& parsed = policy.policy;
  out["version"] = parsed ? json(parsed->version) : json(nullptr);
  out["mode"] = parsed ? json(policy::ModeName(parsed->mode)) : json(nullptr);
  out["max_age"] = parsed ? json(parsed->max_age) : json(nullptr);
  out["mx"] = parsed ? json(parsed->mx) : json::array();
  out["http_status"] = OrNull(policy.http_status);
  out["content_type"] = OrNull(policy.content_type);
  out["address"] = OrNull(policy.address);
  out["error"] = OrNull(policy.error);
  out["certificate"] = CertificateToJson(policy.certificate);
}

}  // namespace

std::string FormatRfc3339Millis(std::int64_t unix_millis) {
  std::time_t seconds = unix_millis / 1000;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[40];
  std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(unix_millis % 1000));
  return buf;
}

json ReportToJson(const DomainReport& report) {
  json issues = json::array();
  for (const auto& issue : report.issues) {
    issues.push_back({{"code", IssueCodeName(issue.code)},
                      {"severity", SeverityName(issue.severity)},
                      {"message", issue.message}});
  }
  json policy = json::object();
  AddPolicyFields(report.policy, policy);

  const auto& sts = report.sts_record;
  const auto& tls = report.tls_rpt;
  return {
      {"domain", report.domain},
      {"enforced", report.enforced},
      {"issues", std::move(issues)},
      {"policy", std::move(policy)},
      {"sts_record",
       {{"found", sts.found},
        {"valid", sts.valid},
        {"record", OrNull(sts.record)},
        {"id", OrNull(sts.id)},
        {"records", sts.candidates}}},
      {"tls_rpt",
       {{"found", tls.found},
        {"valid", tls.valid},
        {"record", OrNull(tls.record)},
        {"rua", tls.rua}}},
      {"mx", {{"hosts", report.mx.hosts}, {"uncovered", report.mx.uncovered}}},
      {"check_success", report.check_complete},
      {"checked_at", FormatRfc3339Millis(report.checked_at_ms)},
      {"duration_seconds", report.duration_seconds},
  };
}

json PolicyToJson(const DomainReport& report) {
  json out = {{"domain", report.domain}};
  AddPolicyFields(report.policy, out);
  json issues = json::array();
  for (const auto& issue : report.issues) {
    issues.push_back({{"code", IssueCodeName(issue.code)},
                      {"severity", SeverityName(issue.severity)},
                      {"message", issue.message}});
  }
  out["issues"] = std::move(issues);
  return out;
}

}  // namespace mtasts
