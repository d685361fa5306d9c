#include "agent/report_json.h"

#include "base/rfc3339.h"

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
  out["cert_not_after"] = policy.certificate ? OrNull(policy.certificate->not_after) : nullptr;
}

json MxToJson(const MxReport& mx) {
  json probes = json::array();
  for (const auto& p : mx.probes) {
    probes.push_back({{"host", p.host},
                      {"address", p.address},
                      {"refused", p.refused},
                      {"reachable", p.reachable},
                      {"starttls", p.starttls},
                      {"tls_version", OrNull(p.tls_version)},
                      {"cipher", OrNull(p.cipher)},
                      {"cert_valid", OrNull(p.cert_valid)},
                      {"cert_error", OrNull(p.cert_error)},
                      {"cert_not_after", OrNull(p.cert_not_after)},
                      {"cert_names", p.cert_names},
                      {"error", OrNull(p.error)}});
  }
  json dane = json::array();
  for (const auto& d : mx.dane) {
    dane.push_back({{"host", d.host},
                    {"tlsa_present", d.tlsa_present},
                    {"dnssec_validated", d.dnssec_validated},
                    {"records", d.records},
                    {"error", OrNull(d.error)}});
  }
  return {{"hosts", mx.hosts},
          {"uncovered", mx.uncovered},
          {"probed", mx.probed},
          {"probes", std::move(probes)},
          {"dane", std::move(dane)}};
}

}  // namespace

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
  json out = {
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
      {"mx", MxToJson(report.mx)},
      {"check_success", report.check_complete},
      {"checked_at", FormatRfc3339Millis(report.checked_at_ms)},
      {"checked_at_ms", report.checked_at_ms},
      {"duration_seconds", report.duration_seconds},
  };
  if (report.history) {  // the daemon's memory (one-shot checks have none)
    const HistoryReport& h = *report.history;
    auto time = [](const std::optional<std::int64_t>& ms) {
      return ms ? json(FormatRfc3339Millis(*ms)) : json(nullptr);
    };
    out["history"] = {{"policy_first_seen", time(h.policy_first_seen_ms)},
                      {"previous_id", OrNull(h.previous_id)},
                      {"mode_downgraded_at", time(h.mode_downgraded_at_ms)},
                      {"mode_downgraded_until", time(h.mode_downgraded_until_ms)}};
  }
  return out;
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

namespace {

template <class T>
std::optional<T> Optional(const json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::nullopt;
  return it->get<T>();
}

/// The probe and DANE fields (absent in reports from before they existed).
void ReadMxExtras(const json& mx, MxReport& out) {
  out.probed = mx.value("probed", false);
  for (const auto& p : mx.value("probes", json::array())) {
    MxProbe probe;
    probe.host = p.at("host").get<std::string>();
    probe.address = p.at("address").get<std::string>();
    probe.refused = p.value("refused", false);
    probe.reachable = p.value("reachable", false);
    probe.starttls = p.value("starttls", false);
    probe.tls_version = Optional<std::string>(p, "tls_version");
    probe.cipher = Optional<std::string>(p, "cipher");
    probe.cert_valid = Optional<bool>(p, "cert_valid");
    probe.cert_error = Optional<std::string>(p, "cert_error");
    probe.cert_not_after = Optional<std::int64_t>(p, "cert_not_after");
    probe.cert_names = p.value("cert_names", std::vector<std::string>{});
    probe.error = Optional<std::string>(p, "error");
    out.probes.push_back(std::move(probe));
  }
  for (const auto& d : mx.value("dane", json::array())) {
    MxDane dane;
    dane.host = d.at("host").get<std::string>();
    dane.tlsa_present = d.value("tlsa_present", false);
    dane.dnssec_validated = d.value("dnssec_validated", false);
    dane.records = d.value("records", std::vector<std::string>{});
    dane.error = Optional<std::string>(d, "error");
    out.dane.push_back(std::move(dane));
  }
}

}  // namespace

Result<DomainReport> ReportFromJson(const json& in) {
  try {
    DomainReport report;
    report.domain = in.at("domain").get<std::string>();
    report.enforced = in.at("enforced").get<bool>();
    for (const auto& issue : in.at("issues")) {
      auto code = IssueCodeFromName(issue.at("code").get<std::string>());
      auto severity = SeverityFromName(issue.at("severity").get<std::string>());
      if (!code || !severity) continue;  // a code from a newer version: not ours to judge
      report.issues.push_back({*code, *severity, issue.at("message").get<std::string>()});
    }
    const json& policy = in.at("policy");
    report.policy.found = policy.at("found").get<bool>();
    report.policy.valid = policy.at("valid").get<bool>();
    report.policy.url = policy.at("url").get<std::string>();
    report.policy.http_status = Optional<int>(policy, "http_status");
    report.policy.content_type = Optional<std::string>(policy, "content_type");
    report.policy.address = Optional<std::string>(policy, "address");
    report.policy.error = Optional<std::string>(policy, "error");
    if (report.policy.valid) {
      policy::Policy parsed;
      parsed.version = policy.at("version").get<std::string>();
      const auto mode = policy.at("mode").get<std::string>();
      if (mode == "enforce") {
        parsed.mode = policy::Mode::kEnforce;
      } else if (mode == "testing") {
        parsed.mode = policy::Mode::kTesting;
      } else if (mode == "none") {
        parsed.mode = policy::Mode::kNone;
      } else {
        return Error{"policy.mode \"" + mode + "\" is not enforce, testing or none"};
      }
      parsed.max_age = policy.at("max_age").get<std::uint32_t>();
      parsed.mx = policy.at("mx").get<std::vector<std::string>>();
      report.policy.policy = std::move(parsed);
    }
    const json& sts = in.at("sts_record");
    report.sts_record.found = sts.at("found").get<bool>();
    report.sts_record.valid = sts.at("valid").get<bool>();
    report.sts_record.record = Optional<std::string>(sts, "record");
    report.sts_record.id = Optional<std::string>(sts, "id");
    report.sts_record.candidates = sts.value("records", std::vector<std::string>{});
    const json& tls = in.at("tls_rpt");
    report.tls_rpt.found = tls.at("found").get<bool>();
    report.tls_rpt.valid = tls.at("valid").get<bool>();
    report.tls_rpt.record = Optional<std::string>(tls, "record");
    report.tls_rpt.rua = tls.at("rua").get<std::vector<std::string>>();
    report.mx.hosts = in.at("mx").at("hosts").get<std::vector<std::string>>();
    report.mx.uncovered = in.at("mx").at("uncovered").get<std::vector<std::string>>();
    ReadMxExtras(in.at("mx"), report.mx);
    if (auto cert = policy.find("certificate"); cert != policy.end() && cert->is_object()) {
      net::CertificateInfo info;
      info.verified = cert->value("verified", false);
      info.dns_names = cert->value("dns_names", std::vector<std::string>{});
      info.not_after = Optional<std::int64_t>(policy, "cert_not_after");
      report.policy.certificate = std::move(info);
    }
    report.check_complete = in.at("check_success").get<bool>();
    report.checked_at_ms = in.at("checked_at_ms").get<std::int64_t>();
    report.duration_seconds = in.at("duration_seconds").get<double>();
    return report;
  } catch (const json::exception& e) {
    return Error{std::string("malformed report: ") + e.what()};
  }
}

}  // namespace mtasts
