#include "collectors/sts/sts_record.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace mtasts::sts {
namespace {

struct ValidCase {
  std::string text;
  std::string id;
  Extensions extensions;
};

TEST(ParseStsRecord, AcceptsEveryFormOfTheAbnf) {
  const std::vector<ValidCase> cases = {
      // RFC 8461 §3.1 example and the simplest forms.
      {"v=STSv1; id=20160831085700Z;", "20160831085700Z", {}},
      {"v=STSv1;id=abc", "abc", {}},
      {"v=STSv1; id=abc", "abc", {}},
      {"v=STSv1;id=abc;", "abc", {}},
      // WSP (SP and HTAB) on both sides of every ";", including after the trailing one.
      {"v=STSv1 ; id=abc ;", "abc", {}},
      {"v=STSv1\t;\tid=abc\t;\t", "abc", {}},
      {"v=STSv1  ;  id=abc  ;  ", "abc", {}},
      {"v=STSv1; id=abc; ", "abc", {}},
      // The id: 1 to 32 letters or digits.
      {"v=STSv1; id=a", "a", {}},
      {"v=STSv1; id=0", "0", {}},
      {"v=STSv1; id=" + std::string(32, 'x'), std::string(32, 'x'), {}},
      {"v=STSv1; id=AbC123xYz", "AbC123xYz", {}},
      // Extensions may come before or after the id (§3.1), and are kept in order.
      {"v=STSv1; foo=bar; id=abc", "abc", {{"foo", "bar"}}},
      {"v=STSv1; id=abc; foo=bar; baz=1", "abc", {{"foo", "bar"}, {"baz", "1"}}},
      {"v=STSv1; x_y-z.w=!\"#$%&'()*+,-./0123456789:<>?@[\\]^_`{|}~; id=a",
       "a",
       {{"x_y-z.w", "!\"#$%&'()*+,-./0123456789:<>?@[\\]^_`{|}~"}}},
      {"v=STSv1; 9=x; id=a", "a", {{"9", "x"}}},
      {"v=STSv1; " + std::string(32, 'n') + "=v; id=a", "a", {{std::string(32, 'n'), "v"}}},
      // "ID=" is not "id=" (%s is case-sensitive): it is an extension.
      {"v=STSv1; ID=xyz; id=abc", "abc", {{"ID", "xyz"}}},
      {"v=STSv1; Id=x; id=abc", "abc", {{"Id", "x"}}},
      // A second version-looking field is only an extension named "v".
      {"v=STSv1; v=STSv1; id=abc", "abc", {{"v", "STSv1"}}},
      // R9: of a repeated field only the first counts.
      {"v=STSv1; id=first; id=second", "first", {}},
      {"v=STSv1; foo=1; id=a; foo=2", "a", {{"foo", "1"}}},
      // An "id=" field whose value is no sts-id still matches sts-extension; a later valid id
      // is the record's id.
      {"v=STSv1; id=a-b; id=abc", "abc", {{"id", "a-b"}}},
      {"v=STSv1; id=abc; id=a-b", "abc", {{"id", "a-b"}}},
  };
  for (const ValidCase& c : cases) {
    SCOPED_TRACE("record: " + c.text);
    Result<StsRecord> parsed = ParseStsRecord(c.text);
    ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
    EXPECT_EQ(parsed->id, c.id);
    EXPECT_EQ(parsed->extensions, c.extensions);
  }
}

struct InvalidCase {
  std::string text;
  std::string message_part;  // a substring the error message must contain
};

TEST(ParseStsRecord, RejectsEverythingElseWithAReason) {
  const std::vector<InvalidCase> cases = {
      // The version: literal first bytes, case-sensitive.
      {"", "does not begin with \"v=STSv1\""},
      {"id=abc; v=STSv1", "does not begin with \"v=STSv1\""},
      {" v=STSv1; id=abc", "without leading whitespace"},
      {"\tv=STSv1; id=abc", "without leading whitespace"},
      {"v=stsv1; id=abc", "case-sensitive"},
      {"V=STSv1; id=abc", "case-sensitive"},
      {"v=STSV1; id=abc", "case-sensitive"},
      {"v = STSv1; id=abc", "does not begin"},
      {"v=STSv2; id=abc", "does not begin"},
      {"v=STSv10; id=abc", "must be followed by \";\", not '0'"},
      {"v=STSv1,id=abc", "must be followed by \";\", not ','"},
      {"v=STSv1 id=abc", "must be followed by \";\""},
      // At least one field after the version.
      {"v=STSv1", "no field follows"},
      {"v=STSv1;", "no field follows"},
      {"v=STSv1 ;", "no field follows"},
      {"v=STSv1; ", "no field follows"},
      {"v=STSv1 ", "no field follows"},
      // Empty fields.
      {"v=STSv1;;", "empty field"},
      {"v=STSv1;; id=abc", "empty field"},
      {"v=STSv1; ; id=abc", "empty field"},
      {"v=STSv1; id=abc;;", "empty field"},
      {"v=STSv1; id=abc; ;", "empty field"},
      // Whitespace is allowed only around ";".
      {"v=STSv1; id=abc ", "whitespace after the last field"},
      {"v=STSv1; id=abc\t", "whitespace after the last field"},
      {"v=STSv1; id =abc", "whitespace around \"=\""},
      {"v=STSv1; id= abc", "whitespace around \"=\""},
      {"v=STSv1; id = abc", "whitespace around \"=\""},
      {"v=STSv1; id=ab c", "contains whitespace"},
      {"v=STSv1; id=abc; foo=b ar", "contains whitespace"},
      // The id: required, 1 to 32 letters or digits.
      {"v=STSv1; foo=bar", "id field is missing"},
      {"v=STSv1; ID=abc", "only \"id=\" counts"},
      {"v=STSv1; iD=abc;", "only \"id=\" counts"},
      {"v=STSv1; id=", "id is empty"},
      {"v=STSv1; id=;", "id is empty"},
      {"v=STSv1; id=" + std::string(33, 'x'), "longer than 32 characters (33)"},
      {"v=STSv1; id=a-b", "id \"a-b\" has a character other than a letter or digit ('-')"},
      {"v=STSv1; id=a.b", "other than a letter or digit ('.')"},
      {"v=STSv1; id=a_b", "other than a letter or digit ('_')"},
      {"v=STSv1; id=a:b", "other than a letter or digit (':')"},
      {"v=STSv1; id=\"abc\"", "other than a letter or digit ('\"')"},
      {"v=STSv1; id=abc=def", "other than a letter or digit ('=')"},
      {"v=STSv1; id=caf\xC3\xA9", "non-ASCII byte 0xC3"},
      {"v=STSv1; id=ab\x01", "control byte 0x01"},
      {"v=STSv1; id=a-b; foo=1", "id \"a-b\""},
      // Fields must be name=value with a valid name and a non-empty value.
      {"v=STSv1; id=abc; foo", "has no \"=\""},
      {"v=STSv1; =abc; id=abc", "empty name"},
      {"v=STSv1; _foo=1; id=abc", "does not start with a letter or digit"},
      {"v=STSv1; -foo=1; id=abc", "does not start with a letter or digit"},
      {"v=STSv1; fo/o=1; id=abc", "contains '/'"},
      {"v=STSv1; " + std::string(33, 'n') + "=v; id=a", "longer than 32 characters"},
      {"v=STSv1; foo=; id=abc", "has an empty value"},
      {"v=STSv1; foo=a=b; id=abc", "contains '='"},
      {"v=STSv1; foo=caf\xC3\xA9; id=abc", "non-ASCII byte 0xC3"},
      {"v=STSv1; foo=a\x7F; id=abc", "control byte 0x7F"},
      {std::string("v=STSv1; id=abc\0", 16), "control byte 0x00"},
      {"v=STSv1; id=abc\r\n", "control byte 0x0D"},
  };
  for (const InvalidCase& c : cases) {
    SCOPED_TRACE("record: " + c.text);
    Result<StsRecord> parsed = ParseStsRecord(c.text);
    ASSERT_FALSE(parsed.has_value()) << "id " << parsed->id;
    EXPECT_NE(parsed.error().message.find(c.message_part), std::string::npos)
        << "message: " << parsed.error().message;
  }
}

TEST(ParseStsRecord, QuotesUntrustedBytesSafely) {
  Result<StsRecord> parsed = ParseStsRecord("v=STSv1; id=" + std::string(200, '-'));
  ASSERT_FALSE(parsed.has_value());
  EXPECT_LT(parsed.error().message.size(), 160u);
  parsed = ParseStsRecord("v=STSv1; id=a\"\\\n");
  ASSERT_FALSE(parsed.has_value());
  EXPECT_NE(parsed.error().message.find("\"a\\\"\\\\\\x0A\""), std::string::npos)
      << parsed.error().message;
}

struct SelectCase {
  std::string name;
  std::vector<std::string> txt;
  RecordStatus status;
  std::size_t candidates;
  std::string problem_part;
  bool has_raw;
};

TEST(SelectStsRecord, KeepsExactlyOneVersionedRecord) {
  const std::vector<SelectCase> cases = {
      {"no records", {}, RecordStatus::kMissing, 0, "", false},
      {"only other records",
       {"v=spf1 -all", "google-site-verification=x", "v=TLSRPTv1; rua=mailto:a@b.c"},
       RecordStatus::kMissing,
       0,
       "",
       false},
      {"near misses are not candidates",
       {"v=STSv10; id=a", "V=STSv1; id=a", " v=STSv1; id=a", "v=STSv1,id=a", "v=stsv1; id=a"},
       RecordStatus::kMissing,
       0,
       "",
       false},
      {"one valid among others",
       {"v=spf1 -all", "v=STSv1; id=abc;", "hello"},
       RecordStatus::kValid,
       1,
       "",
       true},
      {"version alone is a candidate that fails",
       {"v=STSv1"},
       RecordStatus::kInvalid,
       1,
       "no field follows",
       true},
      {"version and space is a candidate",
       {"v=STSv1 "},
       RecordStatus::kInvalid,
       1,
       "no field follows",
       true},
      {"tab after version is a candidate", {"v=STSv1\t; id=a"}, RecordStatus::kValid, 1, "", true},
      {"one malformed",
       {"v=STSv1; id=a-b"},
       RecordStatus::kInvalid,
       1,
       "has a character other than a letter or digit",
       true},
      {"two valid",
       {"v=STSv1; id=abc", "v=STSv1; id=def"},
       RecordStatus::kInvalid,
       2,
       "2 TXT records begin with v=STSv1; exactly one is allowed (RFC 8461 §3.1)",
       false},
      {"two identical",
       {"v=STSv1; id=abc", "v=STSv1; id=abc"},
       RecordStatus::kInvalid,
       2,
       "2 TXT records begin with v=STSv1",
       false},
      {"three, some invalid",
       {"v=STSv1; id=abc", "v=STSv1", "v=STSv1;;"},
       RecordStatus::kInvalid,
       3,
       "3 TXT records begin with v=STSv1",
       false},
  };
  for (const SelectCase& c : cases) {
    SCOPED_TRACE(c.name);
    StsRecordSelection selection = SelectStsRecord(c.txt);
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
  StsRecordSelection one = SelectStsRecord({"x", "v=STSv1; id=abc;"});
  ASSERT_TRUE(one.record.has_value());
  EXPECT_EQ(one.record->id, "abc");
  EXPECT_EQ(one.raw, "v=STSv1; id=abc;");
}

// Arbitrary and mutated bytes: never crash (ASan/UBSan builds catch overruns), and the same input
// always gives the same answer.
TEST(ParseStsRecord, RandomInputsAreTotalAndDeterministic) {
  const std::vector<std::string> seeds = {"v=STSv1; id=20160831085700Z;", "v=STSv1;id=a;x=y",
                                          "v=STSv1 ; ID=abc ; id=x ;"};
  const std::string alphabet = std::string(
      "v=STSv1;id \t=;-_.\"\0\x7F\x80\xC3\xA9\xFF"
      "aZ9",
      27);
  std::mt19937 rng(8461);
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
    Result<StsRecord> first = ParseStsRecord(text);
    Result<StsRecord> second = ParseStsRecord(text);
    ASSERT_EQ(first.has_value(), second.has_value());
    if (first.has_value()) {
      EXPECT_EQ(first->id, second->id);
      EXPECT_FALSE(first->id.empty());
      EXPECT_LE(first->id.size(), 32u);
      EXPECT_EQ(text.rfind("v=STSv1", 0), 0u);
    } else {
      EXPECT_EQ(first.error().message, second.error().message);
      EXPECT_FALSE(first.error().message.empty());
    }
    StsRecordSelection selection = SelectStsRecord({text, "v=spf1 -all"});
    EXPECT_EQ(selection.status == RecordStatus::kValid, first.has_value());
  }
}

}  // namespace
}  // namespace mtasts::sts
