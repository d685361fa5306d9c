#include "agent/report_json.h"

#include <charconv>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "base/rfc3339.h"

namespace mtasts {
namespace {

using nlohmann::json;

// The report is described once (Describe* below) to a sink: TreeSink builds the nlohmann tree
// (the API, the state file, `policy`), TextSink writes the text that tree's dump would, without
// the tree (`check --json`, README "Command line": one report per domain checked, where building,
// printing and freeing the tree cost 4% of a check's instructions; BENCHMARKS.md).

/// Builds the nlohmann tree.
class TreeSink {
 public:
  void BeginObject() { Open(json::object()); }
  void BeginArray() { Open(json::array()); }
  void End() { open_.pop_back(); }
  void Key(std::string_view key) { key_ = key; }
  void Null() { Put(json(nullptr)); }
  template <class T>
  void Value(const T& value) {
    Put(json(value));
  }
  json Take() { return std::move(root_); }

 private:
  json* Put(json value) {
    if (open_.empty()) {
      root_ = std::move(value);
      return &root_;
    }
    json& parent = *open_.back();
    if (parent.is_array()) {
      parent.push_back(std::move(value));
      return &parent.back();
    }
    return &(parent[key_] = std::move(value));
  }
  void Open(json value) { open_.push_back(Put(std::move(value))); }

  json root_;
  std::vector<json*> open_;  // the containers being filled; elements of those below never move
  std::string key_;
};

/// Writes what `dump(2, ' ', false, error_handler_t::replace)` of TreeSink's tree would, `depth`
/// levels in. nlohmann keeps an object's keys sorted, so the keys must come in that order: a key
/// out of order (or twice) is a bug in Describe*, thrown as std::logic_error.
class TextSink {
 public:
  explicit TextSink(int depth) : base_(depth) { text_.reserve(4096); }

  void BeginObject() { Open('{'); }
  void BeginArray() { Open('['); }
  void End() {
    const Level level = levels_.back();
    levels_.pop_back();
    if (!level.empty) NewLine(Depth());
    text_ += level.close;
  }
  void Key(std::string_view key) {
    Level& level = levels_.back();
    if (!level.empty && key <= level.last_key) {
      throw std::logic_error("report JSON: key \"" + std::string(key) + "\" after \"" +
                             std::string(level.last_key) + "\"");
    }
    level.last_key = key;
    Next();
    WriteString(key);
    text_ += ": ";
    keyed_ = true;
  }
  void Null() {
    Next();
    text_ += "null";
  }
  void Value(bool value) {
    Next();
    text_ += value ? "true" : "false";
  }
  void Value(double value) {
    Next();
    text_ += json(value).dump();  // nlohmann's own shortest form ("0.25", "3.0")
  }
  template <class T>
  void Value(const T& value) {
    Next();
    if constexpr (std::is_integral_v<T>) {
      char digits[24];
      const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
      text_.append(digits, end);
    } else {
      WriteString(std::string_view(value));
    }
  }
  std::string Take() { return std::move(text_); }

 private:
  struct Level {
    char close;
    bool empty = true;
    std::string_view last_key;  // keys are string literals
  };
  int Depth() const { return base_ + static_cast<int>(levels_.size()); }
  void NewLine(int depth) {
    text_ += '\n';
    text_.append(static_cast<std::size_t>(depth) * 2, ' ');
  }
  // Before a value: its place in the container (a key already took it in an object).
  void Next() {
    if (keyed_) {
      keyed_ = false;
      return;
    }
    if (levels_.empty()) return;
    Level& level = levels_.back();
    if (!level.empty) text_ += ',';
    level.empty = false;
    NewLine(Depth());
  }
  void Open(char open) {
    Next();
    text_ += open;
    levels_.push_back({open == '{' ? '}' : ']', true, {}});
  }
  void WriteString(std::string_view value) {
    // Printable ASCII without '"' and '\\' is written as it is; anything else (escapes, UTF-8,
    // invalid bytes replaced by U+FFFD) by nlohmann itself, so the bytes are its bytes.
    for (const char c : value) {
      if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') {
        text_ += json(std::string(value)).dump(-1, ' ', false, json::error_handler_t::replace);
        return;
      }
    }
    text_ += '"';
    text_ += value;
    text_ += '"';
  }

  int base_;
  std::vector<Level> levels_;
  bool keyed_ = false;  // a key was written; its value comes next, on the same line
  std::string text_;
};

template <class Sink, class T>
void Field(Sink& sink, std::string_view key, const T& value) {
  sink.Key(key);
  sink.Value(value);
}

template <class Sink, class T>
void Field(Sink& sink, std::string_view key, const std::optional<T>& value) {
  sink.Key(key);
  if (value) {
    sink.Value(*value);
  } else {
    sink.Null();
  }
}

template <class Sink>
void Field(Sink& sink, std::string_view key, const std::vector<std::string>& values) {
  sink.Key(key);
  sink.BeginArray();
  for (const auto& value : values) sink.Value(value);
  sink.End();
}

template <class Sink>
void Time(Sink& sink, std::string_view key, const std::optional<std::int64_t>& unix_millis) {
  Field(sink, key,
        unix_millis ? std::optional<std::string>(FormatRfc3339Millis(*unix_millis)) : std::nullopt);
}

// Each Describe* writes its object's keys in sorted order (TextSink holds it to that).

template <class Sink>
void DescribeCertificate(Sink& sink, const std::optional<net::CertificateInfo>& cert) {
  if (!cert) return sink.Null();
  sink.BeginObject();
  Field(sink, "dns_names", cert->dns_names);
  Field(sink, "error", cert->verified ? std::nullopt : std::optional(cert->verify_error));
  Field(sink, "issuer", cert->issuer);
  Time(sink, "not_after",
       cert->not_after ? std::optional<std::int64_t>(*cert->not_after * 1000) : std::nullopt);
  Field(sink, "subject", cert->subject);
  Field(sink, "verified", cert->verified);
  sink.End();
}

/// The fields of a policy shared by the report and /v1/policy, into an open object.
template <class Sink>
void DescribePolicyFields(Sink& sink, const PolicyReport& policy) {
  const auto& parsed = policy.policy;
  Field(sink, "address", policy.address);
  Field(sink, "cert_not_after", policy.certificate ? policy.certificate->not_after : std::nullopt);
  sink.Key("certificate");
  DescribeCertificate(sink, policy.certificate);
  Field(sink, "content_type", policy.content_type);
  Field(sink, "error", policy.error);
  Field(sink, "found", policy.found);
  Field(sink, "http_status", policy.http_status);
  Field(sink, "max_age", parsed ? std::optional(parsed->max_age) : std::nullopt);
  Field(sink, "mode", parsed ? std::optional(policy::ModeName(parsed->mode)) : std::nullopt);
  static const std::vector<std::string> kNoPatterns;
  Field(sink, "mx", parsed ? parsed->mx : kNoPatterns);
  Field(sink, "url", policy.url);
  Field(sink, "valid", policy.valid);
  Field(sink, "version", parsed ? std::optional(parsed->version) : std::nullopt);
}

template <class Sink>
void DescribeIssues(Sink& sink, const std::vector<Issue>& issues) {
  sink.BeginArray();
  for (const auto& issue : issues) {
    sink.BeginObject();
    Field(sink, "code", IssueCodeName(issue.code));
    Field(sink, "message", issue.message);
    Field(sink, "severity", SeverityName(issue.severity));
    sink.End();
  }
  sink.End();
}

template <class Sink>
void DescribeMx(Sink& sink, const MxReport& mx) {
  sink.BeginObject();
  sink.Key("dane");
  sink.BeginArray();
  for (const auto& d : mx.dane) {
    sink.BeginObject();
    Field(sink, "dnssec_validated", d.dnssec_validated);
    Field(sink, "error", d.error);
    Field(sink, "host", d.host);
    Field(sink, "records", d.records);
    Field(sink, "tlsa_present", d.tlsa_present);
    sink.End();
  }
  sink.End();
  Field(sink, "hosts", mx.hosts);
  Field(sink, "probed", mx.probed);
  sink.Key("probes");
  sink.BeginArray();
  for (const auto& p : mx.probes) {
    sink.BeginObject();
    Field(sink, "address", p.address);
    Field(sink, "cert_error", p.cert_error);
    Field(sink, "cert_names", p.cert_names);
    Field(sink, "cert_not_after", p.cert_not_after);
    Field(sink, "cert_valid", p.cert_valid);
    Field(sink, "cipher", p.cipher);
    Field(sink, "error", p.error);
    Field(sink, "host", p.host);
    Field(sink, "reachable", p.reachable);
    Field(sink, "refused", p.refused);
    Field(sink, "starttls", p.starttls);
    Field(sink, "tls_version", p.tls_version);
    sink.End();
  }
  sink.End();
  Field(sink, "uncovered", mx.uncovered);
  sink.End();
}

template <class Sink>
void DescribeReport(Sink& sink, const DomainReport& report) {
  sink.BeginObject();
  Field(sink, "check_success", report.check_complete);
  Field(sink, "checked_at", FormatRfc3339Millis(report.checked_at_ms));
  Field(sink, "checked_at_ms", report.checked_at_ms);
  Field(sink, "domain", report.domain);
  Field(sink, "duration_seconds", report.duration_seconds);
  Field(sink, "enforced", report.enforced);
  if (report.history) {  // the daemon's memory (one-shot checks have none)
    const HistoryReport& h = *report.history;
    sink.Key("history");
    sink.BeginObject();
    Time(sink, "mode_downgraded_at", h.mode_downgraded_at_ms);
    Time(sink, "mode_downgraded_until", h.mode_downgraded_until_ms);
    Time(sink, "policy_first_seen", h.policy_first_seen_ms);
    Field(sink, "previous_id", h.previous_id);
    sink.End();
  }
  sink.Key("issues");
  DescribeIssues(sink, report.issues);
  sink.Key("mx");
  DescribeMx(sink, report.mx);
  sink.Key("policy");
  sink.BeginObject();
  DescribePolicyFields(sink, report.policy);
  sink.End();
  const auto& sts = report.sts_record;
  sink.Key("sts_record");
  sink.BeginObject();
  Field(sink, "found", sts.found);
  Field(sink, "id", sts.id);
  Field(sink, "record", sts.record);
  Field(sink, "records", sts.candidates);
  Field(sink, "valid", sts.valid);
  sink.End();
  const auto& tls = report.tls_rpt;
  sink.Key("tls_rpt");
  sink.BeginObject();
  Field(sink, "found", tls.found);
  Field(sink, "record", tls.record);
  Field(sink, "rua", tls.rua);
  Field(sink, "valid", tls.valid);
  sink.End();
  sink.End();
}

}  // namespace

json ReportToJson(const DomainReport& report) {
  TreeSink sink;
  DescribeReport(sink, report);
  return sink.Take();
}

std::string ReportJsonText(const DomainReport& report, int depth) {
  TextSink sink(depth);
  DescribeReport(sink, report);
  return sink.Take();
}

json PolicyToJson(const DomainReport& report) {
  // A tree only (the tree keeps its keys sorted), so these two may follow the policy's fields.
  TreeSink sink;
  sink.BeginObject();
  DescribePolicyFields(sink, report.policy);
  Field(sink, "domain", report.domain);
  sink.Key("issues");
  DescribeIssues(sink, report.issues);
  sink.End();
  return sink.Take();
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
