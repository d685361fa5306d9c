#include "collectors/tlsrpt/tlsrpt_record.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace mtasts::tlsrpt {
namespace {

struct ValidCase {
  std::string text;
  std::vector<std::string> rua;
  Extensions extensions;
};

TEST(ParseTlsRptRecord, AcceptsEveryFormOfTheAbnf) {
  const std::vector<ValidCase> cases = {
      // RFC 8460 §3.1 examples.
      {"v=TLSRPTv1;rua=mailto:reports@example.com", {"mailto:reports@example.com"}, {}},
      {"v=TLSRPTv1; rua=https://reporting.example.com/v1/tlsrpt",
       {"https://reporting.example.com/v1/tlsrpt"},
       {}},
      // Delimiters: WSP around ";", one optional trailing ";" (with its own WSP).
      {"v=TLSRPTv1 ; rua=mailto:a@example.com ;", {"mailto:a@example.com"}, {}},
      {"v=TLSRPTv1\t;\trua=mailto:a@example.com;\t", {"mailto:a@example.com"}, {}},
      // Several URIs: "," with any WSP around it.
      {"v=TLSRPTv1; rua=mailto:a@example.com,https://r.example.com/x",
       {"mailto:a@example.com", "https://r.example.com/x"},
       {}},
      {"v=TLSRPTv1; rua=mailto:a@example.com , \thttps://r.example.com/x ;",
       {"mailto:a@example.com", "https://r.example.com/x"},
       {}},
      // One supported URI is enough; the others are kept as published.
      {"v=TLSRPTv1; rua=ftp://x.example.com/r,mailto:a@example.com",
       {"ftp://x.example.com/r", "mailto:a@example.com"},
       {}},
      {"v=TLSRPTv1; rua=urn:isbn:123,HTTPS://R.EXAMPLE.COM",
       {"urn:isbn:123", "HTTPS://R.EXAMPLE.COM"},
       {}},
      // Schemes compare case-insensitively; URIs may carry encodings, queries, ports, userinfo.
      {"v=TLSRPTv1; rua=MailTo:a@example.com", {"MailTo:a@example.com"}, {}},
      {"v=TLSRPTv1; rua=mailto:tls%2Breports@example.com?subject=TLS%20report",
       {"mailto:tls%2Breports@example.com?subject=TLS%20report"},
       {}},
      {"v=TLSRPTv1; rua=mailto:a@example.com%2Cb@example.com",
       {"mailto:a@example.com%2Cb@example.com"},
       {}},
      {"v=TLSRPTv1; rua=https://u:p@r.example.com:8443/a/b?c=d&e=f#g",
       {"https://u:p@r.example.com:8443/a/b?c=d&e=f#g"},
       {}},
      {"v=TLSRPTv1; rua=https://[2001:db8::1]/r", {"https://[2001:db8::1]/r"}, {}},
      {"v=TLSRPTv1; rua=https://192.0.2.1:/r", {"https://192.0.2.1:/r"}, {}},
      // Extensions anywhere after the version; RUA= is only an extension.
      {"v=TLSRPTv1; foo=bar; rua=mailto:a@example.com; x.y_z-1=!$,:",
       {"mailto:a@example.com"},
       {{"foo", "bar"}, {"x.y_z-1", "!$,:"}}},
      {"v=TLSRPTv1; RUA=mailto:x@example.com; rua=mailto:a@example.com",
       {"mailto:a@example.com"},
       {{"RUA", "mailto:x@example.com"}}},
      // The first rua counts (as RFC 8461 §3.2 rules for repeated fields).
      {"v=TLSRPTv1; rua=mailto:first@example.com; rua=mailto:second@example.com",
       {"mailto:first@example.com"},
       {}},
      {"v=TLSRPTv1; rua=mailto:first@example.com; rua=foo",
       {"mailto:first@example.com"},
       {{"rua", "foo"}}},
      // A "rua=" whose value is no tlsrpt-rua but a tlsrpt-ext-value is an extension by the
      // ABNF; a later valid rua is the record's rua.
      {"v=TLSRPTv1; rua=foo; rua=mailto:a@example.com", {"mailto:a@example.com"}, {{"rua", "foo"}}},
  };
  for (const ValidCase& c : cases) {
    SCOPED_TRACE("record: " + c.text);
    Result<TlsRptRecord> parsed = ParseTlsRptRecord(c.text);
    ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
    EXPECT_EQ(parsed->rua, c.rua);
    EXPECT_EQ(parsed->extensions, c.extensions);
  }
}

struct InvalidCase {
  std::string text;
  std::string message_part;
};

TEST(ParseTlsRptRecord, RejectsEverythingElseWithAReason) {
  const std::vector<InvalidCase> cases = {
      // The version.
      {"", "does not begin with \"v=TLSRPTv1\""},
      {"rua=mailto:a@example.com; v=TLSRPTv1", "does not begin"},
      {" v=TLSRPTv1; rua=mailto:a@example.com", "without leading whitespace"},
      {"v=tlsrptv1; rua=mailto:a@example.com", "case-sensitive"},
      {"v=TLSRPTv2; rua=mailto:a@example.com", "does not begin"},
      {"v=TLSRPTv10; rua=mailto:a@example.com", "must be followed by \";\", not '0'"},
      {"v=TLSRPTv1 rua=mailto:a@example.com", "must be followed by \";\""},
      // Fields.
      {"v=TLSRPTv1", "no field follows"},
      {"v=TLSRPTv1;", "no field follows"},
      {"v=TLSRPTv1 ; ", "no field follows"},
      {"v=TLSRPTv1;;rua=mailto:a@example.com", "empty field"},
      {"v=TLSRPTv1; rua=mailto:a@example.com;;", "empty field"},
      {"v=TLSRPTv1; rua=mailto:a@example.com ", "whitespace after the last field"},
      {"v=TLSRPTv1; rua =mailto:a@example.com", "whitespace around \"=\""},
      {"v=TLSRPTv1; rua= mailto:a@example.com", "whitespace around \"=\""},
      {"v=TLSRPTv1; rua=mailto:a@example.com; foo", "has no \"=\""},
      {"v=TLSRPTv1; rua=mailto:a@example.com; foo=a b", "contains whitespace"},
      {"v=TLSRPTv1; rua=mailto:a@example.com; _x=1", "does not start with a letter or digit"},
      {"v=TLSRPTv1; rua=mailto:a@example.com; x=", "has an empty value"},
      {"v=TLSRPTv1; rua=mailto:a@example.com; x=a=b", "contains '='"},
      // rua: required, case-sensitive.
      {"v=TLSRPTv1; foo=bar", "the rua field is missing"},
      {"v=TLSRPTv1; RUA=mailto:a@example.com", "only \"rua=\" counts"},
      {"v=TLSRPTv1; rua=", "rua has no URI"},
      {"v=TLSRPTv1; rua=;", "rua has no URI"},
      // URIs must be absolute RFC 3986 URIs.
      {"v=TLSRPTv1; rua=a@example.com", "is not an absolute URI"},
      {"v=TLSRPTv1; rua=//r.example.com/x", "is not an absolute URI"},
      {"v=TLSRPTv1; rua=1mailto:a@example.com", "is not an absolute URI"},
      {"v=TLSRPTv1; rua=mail_to:a@example.com", "invalid scheme"},
      {"v=TLSRPTv1; rua=mailto:", "nothing after the scheme"},
      {"v=TLSRPTv1; rua=mailto:a@example.com,", "empty URI"},
      {"v=TLSRPTv1; rua=,mailto:a@example.com", "empty URI"},
      {"v=TLSRPTv1; rua=mailto:a@example.com,,https://r.example.com", "empty URI"},
      {"v=TLSRPTv1; rua=mailto:a@example.com , ;", "empty URI"},
      {"v=TLSRPTv1; rua=mailto:a@example.com , ", "whitespace after the last field"},
      {"v=TLSRPTv1; rua=mailto:a b@example.com", "contains a space"},
      {"v=TLSRPTv1; rua=mailto:a@example.com https://r.example.com", "contains a space"},
      {"v=TLSRPTv1; rua=mailto:\xC3\xA9@example.com", "non-ASCII byte 0xC3"},
      {"v=TLSRPTv1; rua=mailto:a@example.com\x01", "control byte 0x01"},
      {"v=TLSRPTv1; rua=mailto:a%2@example.com", "malformed percent-encoding"},
      {"v=TLSRPTv1; rua=mailto:a%zz@example.com", "malformed percent-encoding"},
      {"v=TLSRPTv1; rua=mailto:a@example.com%", "malformed percent-encoding"},
      {"v=TLSRPTv1; rua=mailto:a@example.com<", "contains '<'"},
      {"v=TLSRPTv1; rua=https://r.example.com/a#b#c", "contains '#'"},
      {"v=TLSRPTv1; rua=https://r.example.com/[x]", "contains '['"},
      {"v=TLSRPTv1; rua=https://[::1/x", "unterminated"},
      {"v=TLSRPTv1; rua=https://[]/x", "empty IP literal"},
      {"v=TLSRPTv1; rua=https://[::g]/x", "invalid IP literal"},
      {"v=TLSRPTv1; rua=https://[::1]x/", "after its IP literal"},
      {"v=TLSRPTv1; rua=https://r.example.com:44a/", "port that is not a number"},
      // RFC 8460 §3: ",", "!" and ";" MUST be percent-encoded (no DMARC "!10m").
      {"v=TLSRPTv1; rua=mailto:a@example.com!10m", "'!', which must be percent-encoded"},
      {"v=TLSRPTv1; rua=https://r.example.com/a!b", "'!', which must be percent-encoded"},
      {"v=TLSRPTv1; rua=mailto:a@example.com; foo=1, rua=x", "contains whitespace"},
      // A rua that fails while an extension-looking one would also fail: the URI problem shows.
      {"v=TLSRPTv1; rua=foo", "rua URI \"foo\" is not an absolute URI"},
      {"v=TLSRPTv1; rua=mailto:a@example.com,foo", "rua URI \"foo\" is not an absolute URI"},
      // At least one URI with a supported scheme and a usable target.
      {"v=TLSRPTv1; rua=ftp://r.example.com/x", "unsupported scheme \"ftp\""},
      {"v=TLSRPTv1; rua=http://r.example.com/x", "unsupported scheme \"http\""},
      {"v=TLSRPTv1; rua=mailto:reports", "no address of the form local@domain"},
      {"v=TLSRPTv1; rua=mailto:@example.com", "no address"},
      {"v=TLSRPTv1; rua=mailto:a@", "no address"},
      {"v=TLSRPTv1; rua=mailto:?to=a@example.com", "no address"},
      {"v=TLSRPTv1; rua=https:r.example.com", "has no host"},
      {"v=TLSRPTv1; rua=https:///x", "has no host"},
      {"v=TLSRPTv1; rua=https://u@:443/x", "has no host"},
      {"v=TLSRPTv1; rua=ftp://a,http://b", "none of the 2 rua URIs is usable"},
      // The first valid rua counts, and it has no supported URI.
      {"v=TLSRPTv1; rua=ftp://a; rua=mailto:a@example.com", "unsupported scheme \"ftp\""},
  };
  for (const InvalidCase& c : cases) {
    SCOPED_TRACE("record: " + c.text);
    Result<TlsRptRecord> parsed = ParseTlsRptRecord(c.text);
    ASSERT_FALSE(parsed.has_value());
    EXPECT_NE(parsed.error().message.find(c.message_part), std::string::npos)
        << "message: " << parsed.error().message;
  }
}

struct SelectCase {
  std::string name;
  std::vector<std::string> txt;
  RecordStatus status;
  std::size_t candidates;
  std::string problem_part;
  bool has_raw;
};

TEST(SelectTlsRptRecord, KeepsExactlyOneVersionedRecord) {
  const std::vector<SelectCase> cases = {
      {"none", {}, RecordStatus::kMissing, 0, "", false},
      {"others only",
       {"v=spf1 -all", "v=STSv1; id=a", "v=TLSRPTv10; rua=mailto:a@example.com",
        "V=TLSRPTv1; rua=mailto:a@example.com"},
       RecordStatus::kMissing,
       0,
       "",
       false},
      {"one valid",
       {"v=spf1 -all", "v=TLSRPTv1; rua=mailto:a@example.com"},
       RecordStatus::kValid,
       1,
       "",
       true},
      {"version alone", {"v=TLSRPTv1"}, RecordStatus::kInvalid, 1, "no field follows", true},
      {"one malformed",
       {"v=TLSRPTv1; rua=mailto:a@example.com!10m"},
       RecordStatus::kInvalid,
       1,
       "must be percent-encoded",
       true},
      {"two",
       {"v=TLSRPTv1; rua=mailto:a@example.com", "v=TLSRPTv1;rua=mailto:b@example.com"},
       RecordStatus::kInvalid,
       2,
       "2 TXT records begin with v=TLSRPTv1; exactly one is allowed (RFC 8460 §3)",
       false},
  };
  for (const SelectCase& c : cases) {
    SCOPED_TRACE(c.name);
    TlsRptSelection selection = SelectTlsRptRecord(c.txt);
    EXPECT_EQ(selection.status, c.status);
    EXPECT_EQ(selection.candidates, c.candidates);
    EXPECT_EQ(selection.raw.has_value(), c.has_raw);
    EXPECT_EQ(selection.record.has_value(), c.status == RecordStatus::kValid);
    if (c.problem_part.empty()) {
      EXPECT_EQ(selection.problem, "");
    } else {
      EXPECT_NE(selection.problem.find(c.problem_part), std::string::npos) << selection.problem;
    }
  }
}

TEST(ParseTlsRptRecord, RandomInputsAreTotalAndDeterministic) {
  const std::vector<std::string> seeds = {
      "v=TLSRPTv1; rua=mailto:a@example.com , https://[::1]:8/x?y#z;",
      "v=TLSRPTv1;rua=https://u@r.example.com:1/%41;x=y", "v=TLSRPTv1; RUA=x; rua=foo:bar"};
  constexpr char kAlphabet[] =
      "v=TLSRPTv1;rua ,\t:/@[]%#?!.-_\0\x7F\x80\xFF"
      "aZ9";
  const std::string alphabet(kAlphabet, sizeof(kAlphabet) - 1);
  std::mt19937 rng(8460);
  for (int i = 0; i < 20000; ++i) {
    std::string text = seeds[rng() % seeds.size()];
    if (i % 4 == 0) text.clear();
    const int edits = 1 + static_cast<int>(rng() % 6);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = text.empty() ? 0 : rng() % (text.size() + 1);
      const char c =
          (rng() % 2 == 0) ? alphabet[rng() % alphabet.size()] : static_cast<char>(rng() % 256);
      switch (rng() % 3) {
        case 0: text.insert(text.begin() + static_cast<std::ptrdiff_t>(at), c); break;
        case 1:
          if (at < text.size()) text.erase(at, 1);
          break;
        default:
          if (at < text.size()) text[at] = c;
      }
    }
    Result<TlsRptRecord> first = ParseTlsRptRecord(text);
    Result<TlsRptRecord> second = ParseTlsRptRecord(text);
    ASSERT_EQ(first.has_value(), second.has_value());
    if (first.has_value()) {
      EXPECT_EQ(first->rua, second->rua);
      EXPECT_FALSE(first->rua.empty());
      EXPECT_EQ(text.rfind("v=TLSRPTv1", 0), 0u);
    } else {
      EXPECT_EQ(first.error().message, second.error().message);
      EXPECT_FALSE(first.error().message.empty());
    }
  }
}

}  // namespace
}  // namespace mtasts::tlsrpt
