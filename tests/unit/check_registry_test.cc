// The check registry against what it declares: every issue code belongs to a check that can
// raise it, and the README's issue-code table (the user's contract) lists exactly those codes
// with the severities DefaultSeverity gives.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "collectors/check/registry.h"

namespace mtasts::check {
namespace {

const std::filesystem::path kSourceDir = MTASTS_SOURCE_DIR;

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<IssueCode> AllCodes() {
  std::vector<IssueCode> codes;
  for (int i = 0; i <= static_cast<int>(kLastIssueCode); ++i) {
    codes.push_back(static_cast<IssueCode>(i));
  }
  return codes;
}

// "sts_record_missing" -> "kStsRecordMissing": the enumerator as the sources spell it.
std::string Enumerator(IssueCode code) {
  std::string out = "k";
  bool upper = true;
  for (char c : IssueCodeName(code)) {
    if (c == '_') {
      upper = true;
      continue;
    }
    out += upper ? static_cast<char>(c - 'a' + 'A') : c;
    upper = false;
  }
  return out;
}

// The rows of the README's "## Issue codes" table: code -> severity column.
std::map<std::string, std::string> ReadmeCodeTable() {
  std::map<std::string, std::string> rows;
  std::istringstream in(ReadFile(kSourceDir / "README.md"));
  bool in_section = false;
  const std::regex row(R"(^\| `([a-z_]+)` \| ([^|]+) \|)");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("#", 0) == 0) {
      in_section = line == "## Issue codes";
      continue;
    }
    std::smatch m;
    if (in_section && std::regex_search(line, m, row)) {
      EXPECT_TRUE(rows.emplace(m[1], m[2]).second) << "listed twice in README.md: " << m[1];
    }
  }
  return rows;
}

// dns_error is shared: every check that asks DNS for what it judges can fail to get an answer,
// and each says so in its own message. Every other code belongs to exactly one check.
constexpr IssueCode kShared = IssueCode::kDnsError;

TEST(CheckRegistry, EveryCodeBelongsToExactlyOneCheck) {
  std::map<IssueCode, std::vector<std::string>> owners;
  std::set<std::string> names;
  for (const CheckInfo& info : Catalogue()) {
    EXPECT_TRUE(names.insert(std::string(info.name)).second) << "two checks named " << info.name;
    EXPECT_FALSE(info.spec.empty()) << info.name;
    EXPECT_FALSE(info.codes.empty()) << info.name;
    for (IssueCode code : info.codes) owners[code].push_back(std::string(info.name));
  }
  for (IssueCode code : AllCodes()) {
    const auto& checks = owners[code];
    if (code == kShared) {
      EXPECT_EQ(checks, (std::vector<std::string>{"sts_record", "policy", "tls_rpt", "mx"}));
      continue;
    }
    EXPECT_EQ(checks.size(), 1u) << IssueCodeName(code) << " is listed by " << checks.size()
                                 << " checks";
  }
}

// Where each check raises its codes. A code a check lists must be raised there (AddIssue or an
// Issue built with it), and every code raised there must be listed by one of the file's checks.
TEST(CheckRegistry, NoCheckListsACodeItCannotRaise) {
  const std::map<std::string, std::string> sources = {
      {"sts_record", "collectors/sts/sts_check.cc"},
      {"policy", "collectors/policy/policy_check.cc"},
      {"tls_rpt", "collectors/tlsrpt/tlsrpt_check.cc"},
      {"mx", "collectors/mx/mx_check.cc"},
      {"mx_probe", "collectors/smtp/mx_probe_check.cc"},
      {"policy_certificate", "collectors/smtp/mx_probe_check.cc"},
      {"tlsrpt_reports", "collectors/tlsrpt/tlsrpt_reports_check.cc"},
      {"history", "collectors/history/history.cc"},
  };
  std::map<std::string, std::set<IssueCode>> listed_in_file;
  for (const CheckInfo& info : Catalogue()) {
    auto source = sources.find(std::string(info.name));
    ASSERT_NE(source, sources.end()) << "no source known for check " << info.name;
    for (IssueCode code : info.codes) listed_in_file[source->second].insert(code);
  }
  for (const auto& [file, listed] : listed_in_file) {
    std::string text = ReadFile(kSourceDir / file);
    ASSERT_FALSE(text.empty()) << file;
    // The judgement, without the checks' declarations (which list every code).
    text = text.substr(0, text.find("namespace mtasts::check {"));
    std::string compact;
    for (char c : text) {
      if (c != ' ' && c != '\n') compact += c;
    }
    for (IssueCode code : AllCodes()) {
      const std::string name = "IssueCode::" + Enumerator(code);
      const bool raised = compact.find("AddIssue(" + name + ",") != std::string::npos ||
                          compact.find("{" + name + ",") != std::string::npos;
      EXPECT_EQ(raised, listed.count(code) == 1)
          << file << (raised ? " raises " : " does not raise ") << IssueCodeName(code);
    }
  }
}

TEST(CheckRegistry, TheReadmeTableListsEveryCodeOfTheRegistry) {
  const std::map<std::string, std::string> readme = ReadmeCodeTable();
  ASSERT_FALSE(readme.empty()) << "no \"## Issue codes\" table in README.md";
  std::set<std::string> catalogue;
  for (const CheckInfo& info : Catalogue()) {
    for (IssueCode code : info.codes) catalogue.insert(std::string(IssueCodeName(code)));
  }
  for (const auto& [code, severity] : readme) {
    EXPECT_EQ(catalogue.count(code), 1u) << code << " is in README.md but no check raises it";
    EXPECT_TRUE(IssueCodeFromName(code).has_value()) << code << " is not an IssueCode";
  }
  for (const std::string& code : catalogue) {
    EXPECT_EQ(readme.count(code), 1u) << code << " is raised but missing from README.md";
  }
  for (IssueCode code : AllCodes()) {
    EXPECT_EQ(catalogue.count(std::string(IssueCodeName(code))), 1u) << IssueCodeName(code);
  }
}

// The severity column is DefaultSeverity, except for the codes whose severity follows the
// policy's mode: there the README names the enforce severity first and DefaultSeverity is the
// one used in mode testing (high); tlsrpt_failures_reported is high in `enforce` and its
// DefaultSeverity is the one otherwise (medium).
TEST(CheckRegistry, TheReadmeSeveritiesAreTheDefaultOnes) {
  const std::set<std::string> mode_dependent = {"mx_not_covered", "mx_starttls_missing",
                                                "mx_cert_invalid"};
  for (const auto& [name, severity] : ReadmeCodeTable()) {
    auto code = IssueCodeFromName(name);
    ASSERT_TRUE(code) << name;
    if (mode_dependent.count(name) == 1) {
      EXPECT_EQ(severity.rfind("critical in `enforce`, high", 0), 0u) << name << ": " << severity;
      EXPECT_EQ(DefaultSeverity(*code), Severity::kHigh) << name;
      continue;
    }
    if (name == "tlsrpt_failures_reported") {
      EXPECT_EQ(severity, "high under `enforce`, medium otherwise");
      EXPECT_EQ(DefaultSeverity(*code), Severity::kMedium);
      continue;
    }
    EXPECT_EQ(severity, SeverityName(DefaultSeverity(*code))) << name;
  }
}

Observations Seen(std::string content_type, const std::string& mode = "enforce") {
  Observations seen;
  seen.domain = "example.com";
  seen.sts_txt = dns::TxtAnswer{dns::Presence::kFound, {"v=STSv1; id=1;"}};
  seen.tlsrpt_txt = dns::TxtAnswer{dns::Presence::kFound, {"v=TLSRPTv1; rua=mailto:a@b.c"}};
  seen.mx = dns::MxAnswer{dns::Presence::kFound, {{10, "mx2.example.com"}}};
  policy::PolicyRetrieval retrieval;
  retrieval.stage = policy::PolicyRetrieval::Stage::kFetched;
  net::FetchResult fetch;
  fetch.kind = net::FetchResult::Kind::kResponse;
  fetch.address = "192.0.2.1";
  fetch.response = net::HttpResponse{
      200, std::move(content_type), "",
      "version: STSv1\nmode: " + mode + "\nmx: mx1.example.com\nmax_age: 604800\n"};
  retrieval.fetch = fetch;
  seen.policy = retrieval;
  return seen;
}

// The checks judge in registry order and the report is finished once: mx reads the policy's
// verdict, the issues come out sorted.
TEST(CheckRegistry, JudgesInOrderAndFinishesOnce) {
  DomainReport report;
  report.domain = "example.com";
  JudgeDomain(Seen("text/plain"), JudgeContext{1'700'000'000'000}, report);
  ASSERT_EQ(report.issues.size(), 1u);
  EXPECT_EQ(report.issues[0].code, IssueCode::kMxNotCovered);
  EXPECT_EQ(report.issues[0].severity, Severity::kCritical);
  EXPECT_TRUE(report.enforced);
  EXPECT_EQ(report.tls_rpt.rua, std::vector<std::string>{"mailto:a@b.c"});

  // Served as text/html: the policy parses and is shown, but the domain is not enforced.
  DomainReport html;
  JudgeDomain(Seen("text/html"), JudgeContext{1'700'000'000'000}, html);
  EXPECT_TRUE(html.policy.valid);
  EXPECT_EQ(html.policy.content_type, "text/html");
  EXPECT_FALSE(html.enforced);
  ASSERT_TRUE(html.HasIssue(IssueCode::kPolicyContentType));
  EXPECT_EQ(html.issues[1].code, IssueCode::kPolicyContentType);
  EXPECT_EQ(html.issues[1].severity, Severity::kHigh);

  // Only the policy observed (/v1/policy): the record checks stay silent, nothing is enforced.
  Observations policy_only;
  policy_only.domain = "example.com";
  policy_only.policy = Seen("text/plain").policy;
  DomainReport policy_report;
  JudgeDomain(policy_only, JudgeContext{1'700'000'000'000}, policy_report);
  EXPECT_TRUE(policy_report.policy.valid);
  EXPECT_TRUE(policy_report.issues.empty());
  EXPECT_FALSE(policy_report.enforced);
}

// The `history` check judges against the daemon's memory (JudgeContext::memory) and moves it
// on; a one-shot check has none, and the check adds nothing.
TEST(CheckRegistry, TheHistoryCheckJudgesTheDaemonsMemoryOnly) {
  constexpr std::int64_t kT0 = 1'700'000'000'000;
  constexpr std::int64_t kDay = 24 * 3600 * 1000;
  history::PolicyHistory memory;
  DomainReport first;
  JudgeDomain(Seen("text/plain"), JudgeContext{.now_ms = kT0, .memory = &memory}, first);
  EXPECT_EQ(memory.id, "1");
  EXPECT_EQ(memory.mode, "enforce");
  EXPECT_EQ(memory.first_seen_ms, kT0);
  ASSERT_TRUE(first.history.has_value());
  EXPECT_EQ(first.history->policy_first_seen_ms, kT0);
  EXPECT_EQ(first.issues.size(), 1u) << "the first sight is a baseline";

  // The mode goes to testing under the same id: a one-shot check cannot tell.
  DomainReport one_shot;
  JudgeDomain(Seen("text/plain", "testing"), JudgeContext{.now_ms = kT0 + kDay}, one_shot);
  EXPECT_FALSE(one_shot.HasIssue(IssueCode::kModeDowngraded));
  EXPECT_FALSE(one_shot.HasIssue(IssueCode::kPolicyChangedWithoutIdChange));
  EXPECT_FALSE(one_shot.history.has_value());

  // The daemon's check can, and the report is still finished once: sorted, most severe first.
  DomainReport daemon;
  JudgeDomain(Seen("text/plain", "testing"), JudgeContext{.now_ms = kT0 + kDay, .memory = &memory},
              daemon);
  EXPECT_TRUE(daemon.HasIssue(IssueCode::kModeDowngraded));
  EXPECT_TRUE(daemon.HasIssue(IssueCode::kPolicyChangedWithoutIdChange));
  EXPECT_TRUE(
      std::is_sorted(daemon.issues.begin(), daemon.issues.end(),
                     [](const Issue& a, const Issue& b) { return a.severity < b.severity; }));
  EXPECT_FALSE(daemon.enforced);
  EXPECT_EQ(memory.mode, "testing");
  EXPECT_EQ(memory.downgraded_at_ms, kT0 + kDay);
  EXPECT_EQ(memory.downgraded_until_ms, kT0 + kDay + 604800LL * 1000);
  ASSERT_TRUE(daemon.history.has_value());
  EXPECT_EQ(daemon.history->mode_downgraded_at_ms, kT0 + kDay);
}

}  // namespace
}  // namespace mtasts::check
