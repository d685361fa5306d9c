#include "collectors/tlsrpt/report/report_parser.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "base/ascii.h"
#include "base/domain_name.h"
#include "collectors/tlsrpt/report/json_tree.h"

namespace mtasts::tlsrpt {
namespace {

using Json = nlohmann::json;

constexpr std::array<std::string_view, 11> kResultTypeNames = {
    "starttls-not-supported", "certificate-host-mismatch",
    "certificate-expired",    "certificate-not-trusted",
    "validation-failure",     "tlsa-invalid",
    "dnssec-invalid",         "dane-required",
    "sts-policy-fetch-error", "sts-policy-invalid",
    "sts-webpki-invalid"};

// A report carries at most this many notes; the rest are counted in the last one.
constexpr std::size_t kMaxNotes = 20;
// Error messages quote at most this much of a reporter's text.
constexpr std::size_t kMaxQuotedReportText = 120;

// The length of the UTF-8 sequence at `pos` and its code point; 0 when it is not valid UTF-8.
std::size_t Utf8At(std::string_view text, std::size_t pos, char32_t& cp) {
  const auto b = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char b0 = b(pos);
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  std::size_t length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xbf;
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    length = 2;
    cp = b0 & 0x1fU;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    length = 3;
    cp = b0 & 0x0fU;
    if (b0 == 0xe0) low = 0xa0;
    if (b0 == 0xed) high = 0x9f;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    length = 4;
    cp = b0 & 0x07U;
    if (b0 == 0xf0) low = 0x90;
    if (b0 == 0xf4) high = 0x8f;
  } else {
    return 0;
  }
  if (pos + length > text.size()) return 0;
  for (std::size_t i = 1; i < length; ++i) {
    const unsigned char c = b(pos + i);
    if (c < (i == 1 ? low : 0x80) || c > (i == 1 ? high : 0xbf)) return 0;
    cp = (cp << 6U) | (c & 0x3fU);
  }
  return length;
}

bool IsHidden(char32_t cp) {
  return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x200e || cp == 0x200f ||
         (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x061c;
}

// At most `max` octets of `text`, cut at a character boundary.
std::string_view CutUtf8(std::string_view text, std::size_t max) {
  if (text.size() <= max) return text;
  std::size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xc0U) == 0x80) --end;
  return text.substr(0, end);
}

std::string QuoteReportText(std::string_view text) {
  std::string shown = SanitizeForDisplay(CutUtf8(text, kMaxQuotedReportText));
  if (text.size() > kMaxQuotedReportText) shown += "...";
  return "\"" + shown + "\"";
}

// Reads the fields of the tree, each refusal naming the field by its path.
class FieldReader {
 public:
  explicit FieldReader(const ParseLimits& limits) : limits_(limits) {}

  const std::string& Failure() const { return failure_; }
  std::vector<std::string>& Notes() { return notes_; }

  bool Fail(const std::string& path, const std::string& why) {
    if (failure_.empty()) failure_ = path + ": " + why;
    return false;
  }

  void Note(std::string note) {
    if (std::find(notes_.begin(), notes_.end(), note) != notes_.end()) return;
    ++note_count_;
    if (notes_.size() < kMaxNotes) notes_.push_back(std::move(note));
  }

  void FinishNotes() {
    if (note_count_ > notes_.size()) {
      notes_.push_back("and " + std::to_string(note_count_ - notes_.size()) + " more notes");
    }
  }

  // The member, or nullptr when absent or null.
  static const Json* Member(const Json& object, const char* name) {
    const auto it = object.find(name);
    if (it == object.end() || it->is_null()) return nullptr;
    return &*it;
  }

  const Json* RequireObject(const Json& parent, const char* name, const std::string& path) {
    const Json* value = Member(parent, name);
    if (value == nullptr) return Missing(path), nullptr;
    if (!value->is_object()) return Fail(path, "not an object"), nullptr;
    return value;
  }

  const Json* RequireArray(const Json& parent, const char* name, const std::string& path) {
    const Json* value = Member(parent, name);
    if (value == nullptr) return Missing(path), nullptr;
    if (!value->is_array()) return Fail(path, "not an array"), nullptr;
    return value;
  }

  // A name-like string (identifiers, hosts, addresses): over the limit is refused.
  bool ReadName(const Json& parent, const char* name, const std::string& path, bool required,
                std::string& out) {
    const Json* value = Member(parent, name);
    if (value == nullptr) return required ? Missing(path) : true;
    return ReadNameValue(*value, path, required, out);
  }

  bool ReadNameValue(const Json& value, const std::string& path, bool required, std::string& out) {
    if (!value.is_string()) return Fail(path, "not a string");
    const auto& text = value.get_ref<const std::string&>();
    if (required && text.empty()) return Fail(path, "empty");
    if (text.size() > limits_.max_field_octets) {
      return Fail(path, "longer than " + std::to_string(limits_.max_field_octets) + " octets");
    }
    out = SanitizeForDisplay(text);
    return true;
  }

  // Free text shown to people (additional-information, failure-reason-code): cut at the limit.
  bool ReadText(const Json& parent, const char* name, const std::string& path, std::string& out) {
    const Json* value = Member(parent, name);
    if (value == nullptr) return true;
    if (!value->is_string()) return Fail(path, "not a string");
    const auto& text = value->get_ref<const std::string&>();
    if (text.size() > limits_.max_field_octets) {
      Note(std::string(name) + " cut to " + std::to_string(limits_.max_field_octets) + " octets");
    }
    out = SanitizeForDisplay(CutUtf8(text, limits_.max_field_octets));
    return true;
  }

  bool ReadCount(const Json& parent, const char* name, const std::string& path, std::int64_t& out) {
    const Json* value = Member(parent, name);
    if (value == nullptr) return Missing(path);
    if (value->is_number_unsigned()) {
      const auto n = value->get<Json::number_unsigned_t>();
      if (n > static_cast<std::uint64_t>(limits_.max_count)) {
        return Fail(path,
                    "count " + std::to_string(n) + " above " + std::to_string(limits_.max_count));
      }
      out = static_cast<std::int64_t>(n);
      return true;
    }
    if (value->is_number_integer()) return Fail(path, "negative count");
    if (value->is_number_float()) return Fail(path, "not an integer");
    return Fail(path, "not a number");
  }

  // A string or a list of strings (mx-host: a string in RFC 8460's example, a list in its
  // erratum and in real reports).
  bool ReadStringOrList(const Json& parent, const char* name, const std::string& path,
                        std::vector<std::string>& out) {
    const Json* value = Member(parent, name);
    if (value == nullptr) return true;
    if (value->is_string()) {
      std::string entry;
      if (!ReadNameValue(*value, path, false, entry)) return false;
      if (!entry.empty()) out.push_back(std::move(entry));
      return true;
    }
    if (!value->is_array()) return Fail(path, "neither a string nor a list of strings");
    if (value->size() > limits_.max_list_entries) {
      return Fail(path, "more than " + std::to_string(limits_.max_list_entries) + " entries");
    }
    for (std::size_t i = 0; i < value->size(); ++i) {
      std::string entry;
      if (!ReadNameValue((*value)[i], path + "[" + std::to_string(i) + "]", false, entry)) {
        return false;
      }
      out.push_back(std::move(entry));
    }
    return true;
  }

 private:
  bool Missing(const std::string& path) { return Fail(path, "missing"); }

  const ParseLimits& limits_;
  std::string failure_;
  std::vector<std::string> notes_;
  std::size_t note_count_ = 0;
};

bool ReadDateTime(FieldReader& reader, const Json& range, const char* name, const std::string& path,
                  std::int64_t& out) {
  std::string text;
  if (!reader.ReadName(range, name, path, true, text)) return false;
  bool had_zone = true;
  auto parsed = ParseReportDateTime(text, &had_zone);
  if (!parsed) return reader.Fail(path, parsed.error().message);
  if (!had_zone) reader.Note("datetimes without a zone, read as UTC");
  out = parsed.value();
  return true;
}

bool ReadFailureDetail(FieldReader& reader, const Json& entry, const std::string& path,
                       FailureDetail& detail) {
  if (!entry.is_object()) return reader.Fail(path, "not an object");
  if (!reader.ReadName(entry, "result-type", path + ".result-type", true, detail.result_type_raw)) {
    return false;
  }
  detail.result_type = ParseResultType(detail.result_type_raw);
  if (!reader.ReadName(entry, "sending-mta-ip", path + ".sending-mta-ip", false,
                       detail.sending_mta_ip) ||
      !reader.ReadName(entry, "receiving-mx-hostname", path + ".receiving-mx-hostname", false,
                       detail.receiving_mx_hostname) ||
      !reader.ReadName(entry, "receiving-mx-helo", path + ".receiving-mx-helo", false,
                       detail.receiving_mx_helo) ||
      !reader.ReadName(entry, "receiving-ip", path + ".receiving-ip", false, detail.receiving_ip) ||
      !reader.ReadCount(entry, "failed-session-count", path + ".failed-session-count",
                        detail.failed_session_count) ||
      !reader.ReadText(entry, "additional-information", path + ".additional-information",
                       detail.additional_information)) {
    return false;
  }
  // RFC 8460 §4.4 names the field "failure-reason-code"; its example in Appendix B says
  // "failure-error-code". Either is read.
  const char* code_key = FieldReader::Member(entry, "failure-reason-code") != nullptr
                             ? "failure-reason-code"
                             : "failure-error-code";
  if (!reader.ReadText(entry, code_key, path + "." + code_key, detail.failure_reason_code)) {
    return false;
  }
  // Host names compare case-insensitively; the fully qualified spelling is the same host.
  std::string& host = detail.receiving_mx_hostname;
  std::transform(host.begin(), host.end(), host.begin(), AsciiLower);
  if (host.ends_with('.')) host.pop_back();
  return true;
}

bool ReadPolicy(FieldReader& reader, const Json& entry, const std::string& path,
                const ParseLimits& limits, std::size_t& details_seen, PolicyResult& out) {
  if (!entry.is_object()) return reader.Fail(path, "not an object");
  const Json* policy = reader.RequireObject(entry, "policy", path + ".policy");
  if (policy == nullptr) return false;
  const std::string ppath = path + ".policy";
  if (!reader.ReadName(*policy, "policy-type", ppath + ".policy-type", true, out.policy_type_raw)) {
    return false;
  }
  out.policy_type = ParsePolicyType(out.policy_type_raw);
  std::string domain;
  if (!reader.ReadName(*policy, "policy-domain", ppath + ".policy-domain", true, domain)) {
    return false;
  }
  auto normalized = NormalizeDomain(domain);
  if (!normalized) return reader.Fail(ppath + ".policy-domain", normalized.error().message);
  out.policy_domain = std::move(normalized).value();
  if (!reader.ReadStringOrList(*policy, "policy-string", ppath + ".policy-string",
                               out.policy_string) ||
      !reader.ReadStringOrList(*policy, "mx-host", ppath + ".mx-host", out.mx_host)) {
    return false;
  }
  const Json* summary = reader.RequireObject(entry, "summary", path + ".summary");
  if (summary == nullptr) return false;
  if (!reader.ReadCount(*summary, "total-successful-session-count",
                        path + ".summary.total-successful-session-count",
                        out.successful_sessions) ||
      !reader.ReadCount(*summary, "total-failure-session-count",
                        path + ".summary.total-failure-session-count", out.failed_sessions)) {
    return false;
  }
  const Json* details = FieldReader::Member(entry, "failure-details");
  if (details == nullptr) {
    out.detail_failed_sessions = 0;
  } else {
    if (!details->is_array()) return reader.Fail(path + ".failure-details", "not an array");
    details_seen += details->size();
    if (details_seen > limits.max_failure_details) {
      return reader.Fail(path + ".failure-details", "more than " +
                                                        std::to_string(limits.max_failure_details) +
                                                        " failure details in the report");
    }
    out.failure_details.resize(details->size());
    for (std::size_t i = 0; i < details->size(); ++i) {
      const std::string dpath = path + ".failure-details[" + std::to_string(i) + "]";
      if (!ReadFailureDetail(reader, (*details)[i], dpath, out.failure_details[i])) return false;
      // At most 10,000 counts of at most 10^12 each: no overflow of 64 bits.
      out.detail_failed_sessions += out.failure_details[i].failed_session_count;
    }
    if (out.detail_failed_sessions > limits.max_count) {
      return reader.Fail(path + ".failure-details", "failed-session-counts add up to more than " +
                                                        std::to_string(limits.max_count));
    }
  }
  if (out.CountsDisagree()) {
    reader.Note("policy for " + out.policy_domain + ": summary counts " +
                std::to_string(out.failed_sessions) + " failed sessions, failure-details " +
                std::to_string(out.detail_failed_sessions));
  }
  return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t DaysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool IsLeap(int y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

}  // namespace

std::string_view ResultTypeName(ResultType type) {
  const auto index = static_cast<std::size_t>(type);
  return index < kResultTypeNames.size() ? kResultTypeNames.at(index) : "other";
}

ResultType ParseResultType(std::string_view text) {
  for (std::size_t i = 0; i < kResultTypeNames.size(); ++i) {
    if (EqualsIgnoreAsciiCase(text, kResultTypeNames.at(i))) return static_cast<ResultType>(i);
  }
  return ResultType::kOther;
}

std::string_view PolicyTypeName(PolicyType type) {
  switch (type) {
    case PolicyType::kSts: return "sts";
    case PolicyType::kTlsa: return "tlsa";
    case PolicyType::kNoPolicyFound: return "no-policy-found";
    case PolicyType::kOther: break;
  }
  return "other";
}

PolicyType ParsePolicyType(std::string_view text) {
  if (EqualsIgnoreAsciiCase(text, "sts")) return PolicyType::kSts;
  if (EqualsIgnoreAsciiCase(text, "tlsa")) return PolicyType::kTlsa;
  if (EqualsIgnoreAsciiCase(text, "no-policy-found")) return PolicyType::kNoPolicyFound;
  return PolicyType::kOther;
}

std::int64_t Report::TotalSuccessfulSessions() const {
  std::int64_t total = 0;
  for (const auto& p : policies) total += p.successful_sessions;
  return total;
}

std::int64_t Report::TotalFailedSessions() const {
  std::int64_t total = 0;
  for (const auto& p : policies) total += p.failed_sessions;
  return total;
}

std::string SanitizeForDisplay(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  while (pos < text.size()) {
    char32_t cp = 0;
    const std::size_t length = Utf8At(text, pos, cp);
    if (length == 0) {
      out += '?';
      ++pos;
      continue;
    }
    if (IsHidden(cp)) {
      out += '?';
    } else {
      out.append(text.substr(pos, length));
    }
    pos += length;
  }
  return out;
}

Result<std::int64_t> ParseReportDateTime(std::string_view text, bool* had_zone) {
  const auto bad = [&](const char* why) {
    return Error{"not an RFC 3339 date-time (" + std::string(why) + "): " + QuoteReportText(text)};
  };
  std::size_t pos = 0;
  const auto digits = [&](std::size_t count, int& value) {
    if (pos + count > text.size()) return false;
    value = 0;
    for (std::size_t i = 0; i < count; ++i) {
      const char c = text[pos + i];
      if (c < '0' || c > '9') return false;
      value = value * 10 + (c - '0');
    }
    pos += count;
    return true;
  };
  const auto expect = [&](std::string_view chars) {
    if (pos >= text.size() || chars.find(text[pos]) == std::string_view::npos) return false;
    ++pos;
    return true;
  };
  int year = 0;
  int month = 0;
  int day = 0;
  int hour = 0;
  int minute = 0;
  int second = 0;
  if (!digits(4, year) || !expect("-") || !digits(2, month) || !expect("-") || !digits(2, day)) {
    return bad("date");
  }
  // RFC 3339 §5.6 allows "t" and (in a note) a space in place of "T".
  if (!expect("Tt ") || !digits(2, hour) || !expect(":") || !digits(2, minute) || !expect(":") ||
      !digits(2, second)) {
    return bad("time");
  }
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    const std::size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
    if (pos == start) return bad("fraction");
  }
  std::int64_t offset = 0;
  bool zone = true;
  if (pos == text.size()) {
    zone = false;
  } else if (text[pos] == 'Z' || text[pos] == 'z') {
    ++pos;
  } else if (text[pos] == '+' || text[pos] == '-') {
    const int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    int oh = 0;
    int om = 0;
    if (!digits(2, oh)) return bad("zone");
    if (pos < text.size() && text[pos] == ':') ++pos;
    if (!digits(2, om) || oh > 23 || om > 59) return bad("zone");
    offset = sign * (std::int64_t{oh} * 3600 + std::int64_t{om} * 60);
  } else {
    return bad("zone");
  }
  if (pos != text.size()) return bad("trailing characters");
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (year < 1970 || month < 1 || month > 12 || day < 1 ||
      day > kDays.at(static_cast<std::size_t>(month - 1)) + (month == 2 && IsLeap(year) ? 1 : 0) ||
      hour > 23 || minute > 59 || second > 60) {
    return bad("out of range");
  }
  second = std::min(second, 59);  // a leap second
  if (had_zone != nullptr) *had_zone = zone;
  const std::int64_t days =
      DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  return days * 86400 + std::int64_t{hour} * 3600 + std::int64_t{minute} * 60 + second - offset;
}

bool BoundedTreeBuilder::key(Json::string_t& name) {
  Json& object = *stack_.back();
  if (object.contains(name)) return Fail("duplicate key " + QuoteReportText(name));
  pending_ = &object[name];
  return true;
}

bool BoundedTreeBuilder::parse_error(std::size_t /*position*/, const std::string& /*last_token*/,
                                     const nlohmann::detail::exception& ex) {
  // nlohmann's message names line and column, and quotes the offending input.
  return Fail("not JSON: " + SanitizeForDisplay(CutUtf8(ex.what(), 300)));
}

Result<Report> ParseReport(std::string_view json, const ParseLimits& limits) {
  BoundedTreeBuilder builder(limits);
  const bool parsed = Json::sax_parse(json.data(), json.data() + json.size(), &builder);
  if (!parsed) {
    return Error{builder.Failure().empty() ? std::string("not JSON") : builder.Failure()};
  }
  const Json& root = builder.Root();
  if (!root.is_object()) return Error{"not a report: the JSON is not an object"};

  FieldReader reader(limits);
  Report report;
  const auto refused = [&]() { return Error{reader.Failure()}; };
  if (!reader.ReadName(root, "organization-name", "organization-name", true,
                       report.organization_name) ||
      !reader.ReadName(root, "report-id", "report-id", true, report.report_id) ||
      !reader.ReadName(root, "contact-info", "contact-info", false, report.contact_info)) {
    return refused();
  }
  const Json* range = reader.RequireObject(root, "date-range", "date-range");
  if (range == nullptr ||
      !ReadDateTime(reader, *range, "start-datetime", "date-range.start-datetime",
                    report.start_time) ||
      !ReadDateTime(reader, *range, "end-datetime", "date-range.end-datetime", report.end_time)) {
    return refused();
  }
  if (report.end_time < report.start_time) {
    return Error{"date-range: end-datetime before start-datetime"};
  }
  const Json* policies = reader.RequireArray(root, "policies", "policies");
  if (policies == nullptr) return refused();
  if (policies->empty()) return Error{"policies: empty"};
  if (policies->size() > limits.max_policies) {
    return Error{"policies: more than " + std::to_string(limits.max_policies)};
  }
  report.policies.resize(policies->size());
  std::size_t details_seen = 0;
  for (std::size_t i = 0; i < policies->size(); ++i) {
    if (!ReadPolicy(reader, (*policies)[i], "policies[" + std::to_string(i) + "]", limits,
                    details_seen, report.policies[i])) {
      return refused();
    }
  }
  // At most 1,000 counts of at most 10^12 each: the sums cannot overflow; bounding them keeps
  // what the store adds up over many reports far from overflowing too.
  if (report.TotalSuccessfulSessions() > limits.max_count ||
      report.TotalFailedSessions() > limits.max_count) {
    return Error{"policies: session counts add up to more than " +
                 std::to_string(limits.max_count)};
  }
  reader.FinishNotes();
  report.notes = std::move(reader.Notes());
  return report;
}

}  // namespace mtasts::tlsrpt
