#include "collectors/policy/policy_parser.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace mtasts::policy {
namespace {

// The RFC 8461 §3.2 example, with its CRLF line ends.
constexpr std::string_view kRfcExample =
    "version: STSv1\r\n"
    "mode: enforce\r\n"
    "mx: mail.example.com\r\n"
    "mx: *.example.net\r\n"
    "mx: backupmx.example.com\r\n"
    "max_age: 604800\r\n";

// The fields of a valid enforce policy, one per line, for cases that change one thing.
std::string Lines(const std::vector<std::string>& lines, std::string_view end = "\n") {
  std::string body;
  for (const std::string& line : lines) {
    body += line;
    body += end;
  }
  return body;
}

TEST(ParsePolicy, ParsesTheRfcExample) {
  Result<Policy> parsed = ParsePolicy(kRfcExample);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(parsed->version, "STSv1");
  EXPECT_EQ(parsed->mode, Mode::kEnforce);
  EXPECT_EQ(parsed->max_age, 604800u);
  EXPECT_EQ(parsed->mx, (std::vector<std::string>{"mail.example.com", "*.example.net",
                                                  "backupmx.example.com"}));
  EXPECT_TRUE(parsed->extensions.empty());
}

struct ValidCase {
  std::string name;
  std::string body;
  Mode mode;
  std::uint32_t max_age;
  std::vector<std::string> mx;
  Extensions extensions;
};

TEST(ParsePolicy, AcceptsEveryFormOfTheAbnf) {
  const std::string v = "version: STSv1";
  const std::string m = "mode: enforce";
  const std::string a = "max_age: 86400";
  const std::string x = "mx: mx.example.com";
  const std::vector<std::string> mx = {"mx.example.com"};
  const std::vector<ValidCase> cases = {
      // Line ends (R14, R19): LF, CRLF, mixed; the final one optional.
      {"LF", Lines({v, m, a, x}), Mode::kEnforce, 86400, mx, {}},
      {"CRLF", Lines({v, m, a, x}, "\r\n"), Mode::kEnforce, 86400, mx, {}},
      {"mixed", v + "\r\n" + m + "\n" + a + "\r\n" + x + "\n", Mode::kEnforce, 86400, mx, {}},
      {"no final LF", v + "\n" + m + "\n" + a + "\n" + x, Mode::kEnforce, 86400, mx, {}},
      {"no final CRLF", v + "\r\n" + m + "\r\n" + a + "\r\n" + x, Mode::kEnforce, 86400, mx, {}},
      // Field order is free: version need not come first in the file.
      {"any order", Lines({x, a, m, v}), Mode::kEnforce, 86400, mx, {}},
      // Whitespace: any WSP after ":" (or none), any after the value.
      {"no space after colon",
       Lines({"version:STSv1", "mode:enforce", "max_age:86400", "mx:mx.example.com"}),
       Mode::kEnforce,
       86400,
       mx,
       {}},
      {"tabs and spaces after colon and value",
       Lines({"version:\t STSv1 \t", "mode:   enforce\t", "max_age:\t86400  ",
              "mx: \tmx.example.com "},
             "\r\n"),
       Mode::kEnforce,
       86400,
       mx,
       {}},
      {"trailing WSP on last line without LF",
       v + "\n" + m + "\n" + a + "\n" + x + " \t",
       Mode::kEnforce,
       86400,
       mx,
       {}},
      // max_age: 1 to 10 digits, leading zeros allowed, 0 to 31557600.
      {"max_age zero", Lines({v, m, "max_age: 0", x}), Mode::kEnforce, 0, mx, {}},
      {"max_age leading zeros",
       Lines({v, m, "max_age: 0000000060", x}),
       Mode::kEnforce,
       60,
       mx,
       {}},
      {"max_age at the cap",
       Lines({v, m, "max_age: 31557600", x}),
       Mode::kEnforce,
       31557600,
       mx,
       {}},
      {"max_age ten digits at the cap",
       Lines({v, m, "max_age: 0031557600", x}),
       Mode::kEnforce,
       31557600,
       mx,
       {}},
      // Modes; mx is optional only with none.
      {"testing", Lines({v, "mode: testing", a, x}), Mode::kTesting, 86400, mx, {}},
      {"none without mx", Lines({v, "mode: none", a}), Mode::kNone, 86400, {}, {}},
      {"none with mx", Lines({v, "mode: none", a, x}), Mode::kNone, 86400, mx, {}},
      // mx patterns (R13): host names, "*." suffixes, A-labels, single labels, digits.
      {"mx forms",
       Lines({v, m, a, "mx: *.example.com", "mx: a-b.c-d.example", "mx: xn--bcher-kva.example",
              "mx: localhost", "mx: 192.0.2.1", "mx: MX.Example.COM", "mx: *.example.com"}),
       Mode::kEnforce,
       86400,
       {"*.example.com", "a-b.c-d.example", "xn--bcher-kva.example", "localhost", "192.0.2.1",
        "MX.Example.COM", "*.example.com"},
       {}},
      // R16: unknown fields are accepted and ignored; values may hold UTF-8, ":", "=", ";" and
      // runs of inner spaces.
      {"extensions",
       Lines({v, "comment: caf\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x98\x80 ok", m, "x_y-z.w: a:b=c;d  e",
              a, std::string(32, 'n') + ": 1", "9: \xEF\xBF\xBD", x}),
       Mode::kEnforce,
       86400,
       mx,
       {{"comment", "caf\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x98\x80 ok"},
        {"x_y-z.w", "a:b=c;d  e"},
        {std::string(32, 'n'), "1"},
        {"9", "\xEF\xBF\xBD"}}},
      // Case-sensitive names: these are extensions, not the known fields.
      {"other-case names are extensions",
       Lines({v, m, a, x, "Mode: none", "MX: other.example.com", "Version: STSv2"}),
       Mode::kEnforce,
       86400,
       mx,
       {{"Mode", "none"}, {"MX", "other.example.com"}, {"Version", "STSv2"}}},
      // R17: the first of a repeated non-mx field counts; of extensions the first is kept.
      {"first mode wins", Lines({v, m, "mode: testing", a, x}), Mode::kEnforce, 86400, mx, {}},
      {"first mode none wins over a later enforce",
       Lines({v, "mode: none", m, a}),
       Mode::kNone,
       86400,
       {},
       {}},
      {"first max_age wins", Lines({v, m, a, "max_age: 60", x}), Mode::kEnforce, 86400, mx, {}},
      {"a later max_age over the cap is ignored",
       Lines({v, m, a, "max_age: 31557601", x}),
       Mode::kEnforce,
       86400,
       mx,
       {}},
      {"repeated version", Lines({v, v, m, a, x}), Mode::kEnforce, 86400, mx, {}},
      {"repeated extension",
       Lines({v, "foo: 1", m, a, "foo: 2", x}),
       Mode::kEnforce,
       86400,
       mx,
       {{"foo", "1"}}},
      // Look-alikes are extensions (R14), so a later real field is the first one.
      {"mode look-alike before the real mode",
       Lines({v, "mode: bogus", m, a, x}),
       Mode::kEnforce,
       86400,
       mx,
       {{"mode", "bogus"}}},
      {"mode look-alike after the real mode",
       Lines({v, m, "mode: Enforce", a, x}),
       Mode::kEnforce,
       86400,
       mx,
       {{"mode", "Enforce"}}},
      {"version look-alike",
       Lines({"version: STSv2", v, m, a, x}),
       Mode::kEnforce,
       86400,
       mx,
       {{"version", "STSv2"}}},
      {"max_age look-alike",
       Lines({v, m, "max_age: 99999999999", a, x}),
       Mode::kEnforce,
       86400,
       mx,
       {{"max_age", "99999999999"}}},
      {"mx look-alike beside a valid mx",
       Lines({v, m, a, x, "mx: mx*.example.com"}),
       Mode::kEnforce,
       86400,
       mx,
       {{"mx", "mx*.example.com"}}},
  };
  for (const ValidCase& c : cases) {
    SCOPED_TRACE(c.name);
    Result<Policy> parsed = ParsePolicy(c.body);
    ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
    EXPECT_EQ(parsed->version, "STSv1");
    EXPECT_EQ(parsed->mode, c.mode);
    EXPECT_EQ(parsed->max_age, c.max_age);
    EXPECT_EQ(parsed->mx, c.mx);
    EXPECT_EQ(parsed->extensions, c.extensions);
  }
}

struct InvalidCase {
  std::string name;
  std::string body;
  std::string message;  // the exact message, or a part of it when `exact` is false
  bool exact = false;
};

TEST(ParsePolicy, RejectsEverythingElseNamingLineAndProblem) {
  const std::string v = "version: STSv1";
  const std::string m = "mode: enforce";
  const std::string a = "max_age: 86400";
  const std::string x = "mx: mx.example.com";
  const std::vector<InvalidCase> cases = {
      {"empty", "", "the policy is empty", true},
      // Blank and whitespace-only lines (R14), including a second final line end.
      {"only LF", "\n", "line 1: blank line (RFC 8461 §3.2 allows none)", true},
      {"only CRLF", "\r\n", "line 1: blank line", false},
      {"leading blank line", "\n" + Lines({v, m, a, x}), "line 1: blank line", false},
      {"interior blank line", Lines({v, m, "", a, x}), "line 3: blank line", false},
      {"two final LFs", Lines({v, m, a, x}) + "\n", "line 5: blank line", false},
      {"two final CRLFs", Lines({v, m, a, x}, "\r\n") + "\r\n", "line 5: blank line", false},
      {"LF then CRLF at the end", Lines({v, m, a, x}) + "\r\n", "line 5: blank line", false},
      {"whitespace-only line", Lines({v, m, "  ", a, x}), "line 3: line holds only whitespace",
       true},
      {"tab-only last line", Lines({v, m, a, x}) + "\t", "line 5: line holds only whitespace",
       true},
      // No folding or indentation.
      {"indented line", Lines({v, " " + m, a, x}),
       "line 2: starts with whitespace (continuation lines are not allowed)", true},
      {"tab-indented line", Lines({v, m, "\t" + a, x}), "line 3: starts with whitespace", false},
      {"folded mx", Lines({v, m, a, "mx: a.example.com", " b.example.com"}),
       "line 5: starts with whitespace", false},
      // A bare CR is not a line end (R14).
      {"bare CR between fields", v + "\r" + m + "\n" + a + "\n" + x,
       "line 1: bare CR (a line ends with LF or CRLF)", true},
      {"bare CR at the very end", Lines({v, m, a}) + x + "\r", "line 4: bare CR", false},
      {"CR CR LF", v + "\r\r\n" + m, "line 1: bare CR", false},
      {"CR inside a value", Lines({v, m, "foo: a\rb", a, x}), "line 3: bare CR", false},
      // Field syntax.
      {"space before colon", Lines({v, "mode : enforce", a, x}), "line 2: whitespace before \":\"",
       true},
      {"tab before colon", Lines({v, m, "max_age\t: 86400", x}), "line 3: whitespace before",
       false},
      {"no colon", Lines({v, "mode enforce", a, x}),
       R"(line 2: "mode enforce" is not a "name: value" field)", true},
      {"equals instead of colon", Lines({v, m, "max_age=86400", x}), "line 3:", false},
      {"empty name", Lines({v, m, a, ": x", x}), "line 4: the field name is empty", true},
      {"name starts with underscore", Lines({v, "_mode: enforce", m, a, x}),
       "line 2: field name \"_mode\" does not start with a letter or digit", true},
      {"space inside name", Lines({v, m, "max age: 1", a, x}), "contains a space", false},
      {"name of 33 characters", Lines({v, m, a, std::string(33, 'n') + ": 1", x}),
       "line 4: field name", false},
      {"non-ASCII name", Lines({v, m, a, "caf\xC3\xA9: 1", x}), "non-ASCII byte 0xC3", false},
      {"empty value", Lines({v, "mode:", a, x}), "line 2: field \"mode\" has no value", true},
      {"whitespace-only value", Lines({v, m, a, "mx: \t "}), "line 4: field \"mx\" has no value",
       true},
      {"tab inside a value", Lines({v, m, a, x, "foo: a\tb"}),
       "line 5: value of \"foo\" contains a tab", true},
      {"control byte in a value", Lines({v, m, a, x, "foo: a\x01"}), "control byte 0x01", false},
      {"DEL in a value", Lines({v, m, a, x, "foo: a\x7F"}), "control byte 0x7F", false},
      {"NUL in a value", Lines({v, m, a, x}) + std::string("foo: a\0b", 8), "control byte 0x00",
       false},
      {"NUL line", Lines({v, m, a, x}) + std::string(1, '\0'), "line 5:", false},
      {"byte order mark", "\xEF\xBB\xBF" + Lines({v, m, a, x}),
       "line 1: starts with a UTF-8 byte order mark", true},
      // Extension values are UTF-8 (RFC 3629) only.
      {"truncated UTF-8", Lines({v, m, a, x, "foo: a\xC3"}), "is not valid UTF-8", false},
      {"lone continuation byte", Lines({v, m, a, x, "foo: \x80"}), "is not valid UTF-8", false},
      {"overlong UTF-8", Lines({v, m, a, x, "foo: \xC0\xAF"}), "is not valid UTF-8", false},
      {"overlong 3-byte UTF-8", Lines({v, m, a, x, "foo: \xE0\x80\xAF"}), "is not valid UTF-8",
       false},
      {"UTF-8 surrogate", Lines({v, m, a, x, "foo: \xED\xA0\x80"}), "is not valid UTF-8", false},
      {"above U+10FFFF", Lines({v, m, a, x, "foo: \xF4\x90\x80\x80"}), "is not valid UTF-8", false},
      {"byte 0xFF", Lines({v, m, a, x, "foo: \xFF"}), "(byte 0xFF at offset 0)", false},
      {"Latin-1 text", Lines({v, m, a, x, "foo: caf\xE9"}), "line 5: value of \"foo\" is not valid",
       false},
      // Required fields (R15).
      {"version missing", Lines({m, a, x}), "version is missing", true},
      {"mode missing", Lines({v, a, x}), "mode is missing", true},
      {"max_age missing", Lines({v, m, x}), "max_age is missing", true},
      {"mx missing in enforce", Lines({v, m, a}), "mx is required when mode is enforce", true},
      {"mx missing in testing", Lines({v, "mode: testing", a}),
       "mx is required when mode is testing", true},
      {"only extensions", Lines({"foo: bar"}), "version is missing", true},
      // Case-sensitive names and values.
      {"Version name", Lines({"Version: STSv1", m, a, x}),
       "version is missing (field names are case-sensitive: \"Version\" on line 1 does not count)",
       true},
      {"MODE name", Lines({v, "MODE: enforce", a, x}), "mode is missing (field names", false},
      {"Max_Age name", Lines({v, m, "Max_Age: 86400", x}), "max_age is missing (field names",
       false},
      {"MX name", Lines({v, m, a, "MX: mx.example.com"}),
       "mx is required when mode is enforce (field names are case-sensitive: \"MX\" on line 4 "
       "does not count)",
       true},
      {"stsv1 value", Lines({"version: stsv1", m, a, x}),
       R"(line 1: version "stsv1" is not "STSv1" (values are case-sensitive))", true},
      {"STSv2 value", Lines({"version: STSv2", m, a, x}),
       R"(line 1: version "STSv2" is not "STSv1")", true},
      {"Enforce value", Lines({v, "mode: Enforce", a, x}),
       "line 2: mode \"Enforce\" is not enforce, testing or none (values are case-sensitive)",
       true},
      {"bogus mode", Lines({v, "mode: bogus", a, x}),
       "line 2: mode \"bogus\" is not enforce, testing or none", true},
      {"two words in mode", Lines({v, "mode: enforce now", a, x}), "line 2: mode \"enforce now\"",
       false},
      // max_age syntax: 1 to 10 digits, nothing else.
      {"max_age 11 digits", Lines({v, m, "max_age: 99999999999", x}),
       "line 3: max_age \"99999999999\" has more than 10 digits", true},
      {"max_age 11 digits with leading zeros", Lines({v, m, "max_age: 00000000060", x}),
       "line 3: max_age \"00000000060\" has more than 10 digits", true},
      {"max_age letters", Lines({v, m, "max_age: abc", x}),
       "line 3: max_age \"abc\" is not a number of 1 to 10 digits", true},
      {"max_age negative", Lines({v, m, "max_age: -1", x}), "is not a number", false},
      {"max_age plus", Lines({v, m, "max_age: +1", x}), "is not a number", false},
      {"max_age decimal", Lines({v, m, "max_age: 1.5", x}), "is not a number", false},
      {"max_age exponent", Lines({v, m, "max_age: 1e5", x}), "is not a number", false},
      {"max_age hex", Lines({v, m, "max_age: 0x10", x}), "is not a number", false},
      {"max_age inner space", Lines({v, m, "max_age: 86 400", x}), "is not a number", false},
      {"max_age unit", Lines({v, m, "max_age: 86400s", x}), "is not a number", false},
      // max_age range (R18): over 31557600 makes the policy invalid.
      {"max_age one over the cap", Lines({v, m, "max_age: 31557601", x}),
       "line 3: max_age 31557601 is larger than the maximum of 31557600 seconds (RFC 8461 §3.2)",
       true},
      {"max_age ten nines", Lines({v, m, "max_age: 9999999999", x}),
       "line 3: max_age 9999999999 is larger than the maximum", false},
      {"max_age over the cap in mode none", Lines({v, "mode: none", "max_age: 31557601"}),
       "is larger than the maximum", false},
      // mx syntax (R13, R14): the only wildcard is a leading "*.".
      {"mx star alone", Lines({v, m, a, "mx: *"}),
       "line 4: mx \"*\": \"*\" is allowed only as the whole first label, \"*.\"; mx is required "
       "when mode is enforce",
       true},
      {"mx star dot", Lines({v, m, a, "mx: *."}), "line 4: mx \"*.\" has no host name after",
       false},
      {"mx partial-label wildcard", Lines({v, m, a, "mx: mx*.example.com"}),
       "\"*\" is allowed only as the whole first label", false},
      {"mx star without dot", Lines({v, m, a, "mx: *example.com"}), "\"*\" is allowed only", false},
      {"mx double wildcard", Lines({v, m, a, "mx: *.*.example.com"}), "\"*\" is allowed only",
       false},
      {"mx inner wildcard", Lines({v, m, a, "mx: a.*.example.com"}), "\"*\" is allowed only",
       false},
      {"mx trailing dot", Lines({v, m, a, "mx: mx.example.com."}),
       "line 4: mx \"mx.example.com.\" ends with a dot", false},
      {"mx empty label", Lines({v, m, a, "mx: mx..example.com"}), "has an empty label", false},
      {"mx leading dot", Lines({v, m, a, "mx: .example.com"}), "has an empty label", false},
      {"mx hyphen first", Lines({v, m, a, "mx: -mx.example.com"}),
       R"(has the label "-mx", which starts or ends with "-")", false},
      {"mx hyphen last", Lines({v, m, a, "mx: mx-.example.com"}), "starts or ends with \"-\"",
       false},
      {"mx underscore", Lines({v, m, a, "mx: mx_1.example.com"}), "contains '_'", false},
      {"mx U-label", Lines({v, m, a, "mx: m\xC3\xBCnchen.example"}),
       "IDNs must be written as A-labels", false},
      {"mx two names", Lines({v, m, a, "mx: a.example.com b.example.com"}), "contains a space",
       false},
      {"mx comma list", Lines({v, m, a, "mx: a.example.com,b.example.com"}), "contains ','", false},
      {"mx with port", Lines({v, m, a, "mx: a.example.com:25"}), "contains ':'", false},
      // The first look-alike explains a missing field.
      {"two look-alikes", Lines({v, "mode: bogus", "mode: worse", a, x}), "line 2: mode \"bogus\"",
       false},
  };
  for (const InvalidCase& c : cases) {
    SCOPED_TRACE(c.name);
    Result<Policy> parsed = ParsePolicy(c.body);
    ASSERT_FALSE(parsed.has_value());
    if (c.exact) {
      EXPECT_EQ(parsed.error().message, c.message);
    } else {
      EXPECT_NE(parsed.error().message.find(c.message), std::string::npos)
          << "message: " << parsed.error().message;
    }
  }
}

TEST(ParsePolicy, QuotesUntrustedBytesSafelyAndShort) {
  Result<Policy> parsed = ParsePolicy("mode: " + std::string(10000, 'x') + "\x01");
  ASSERT_FALSE(parsed.has_value());
  EXPECT_LT(parsed.error().message.size(), 200u);
  parsed = ParsePolicy("a\"\\\x1b\n");
  ASSERT_FALSE(parsed.has_value());
  EXPECT_EQ(parsed.error().message, "line 1: \"a\\\"\\\\\\x1B\" is not a \"name: value\" field");
}

TEST(ModeName, NamesEveryMode) {
  EXPECT_EQ(ModeName(Mode::kEnforce), "enforce");
  EXPECT_EQ(ModeName(Mode::kTesting), "testing");
  EXPECT_EQ(ModeName(Mode::kNone), "none");
}

TEST(ParsePolicy, LargeInputsStayLinear) {
  // 64 KiB (the RFC's suggested limit) and far beyond: many fields, one long line, many LFs.
  std::string many = Lines({"version: STSv1", "mode: enforce", "max_age: 86400"});
  while (many.size() < (4u << 20)) many += "mx: mx.example.com\nfoo: bar baz\n";
  Result<Policy> parsed = ParsePolicy(many);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_GT(parsed->mx.size(), 100000u);
  EXPECT_EQ(parsed->extensions.size(), 1u);

  EXPECT_FALSE(ParsePolicy("foo: " + std::string(4u << 20, 'x')).has_value());
  EXPECT_FALSE(ParsePolicy(std::string(4u << 20, '\n')).has_value());
  EXPECT_FALSE(ParsePolicy(std::string(4u << 20, '\r')).has_value());
  EXPECT_FALSE(ParsePolicy(std::string(4u << 20, '\0')).has_value());
}

// Mutated policies and random bytes: never crash (ASan/UBSan builds catch overruns), the same
// answer every time, and every accepted policy honours the rules it was parsed under.
TEST(ParsePolicy, RandomInputsAreTotalAndDeterministic) {
  const std::vector<std::string> seeds = {
      std::string(kRfcExample),
      "version:STSv1\nmode: none\nmax_age: 0000000060\nfoo: caf\xC3\xA9 :=;\n",
      "mode: testing\r\nmx: *.example.com\r\nversion: STSv1\r\nmax_age: 31557600"};
  constexpr char kAlphabet[] =
      "version:STSv1mode:enforcemax_age:mx*.-_ \t\r\n0123456789\0\x7F"
      "\x80\xC3\xA9\xED\xF0\xF4\xFF";
  const std::string alphabet(kAlphabet, sizeof(kAlphabet) - 1);
  std::mt19937 rng(8461);
  for (int i = 0; i < 20000; ++i) {
    std::string body = seeds[rng() % seeds.size()];
    if (i % 5 == 0) body.clear();
    const int edits = 1 + static_cast<int>(rng() % 8);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = body.empty() ? 0 : rng() % (body.size() + 1);
      const char c =
          (rng() % 2 == 0) ? alphabet[rng() % alphabet.size()] : static_cast<char>(rng() % 256);
      switch (rng() % 3) {
        case 0: body.insert(body.begin() + static_cast<std::ptrdiff_t>(at), c); break;
        case 1:
          if (at < body.size()) body.erase(at, 1);
          break;
        default:
          if (at < body.size()) body[at] = c;
      }
    }
    Result<Policy> first = ParsePolicy(body);
    Result<Policy> second = ParsePolicy(body);
    ASSERT_EQ(first.has_value(), second.has_value());
    if (!first.has_value()) {
      EXPECT_EQ(first.error().message, second.error().message);
      EXPECT_FALSE(first.error().message.empty());
      continue;
    }
    EXPECT_EQ(first->version, "STSv1");
    EXPECT_EQ(first->mode, second->mode);
    EXPECT_EQ(first->mx, second->mx);
    EXPECT_LE(first->max_age, kMaxMaxAge);
    EXPECT_TRUE(first->mode == Mode::kNone || !first->mx.empty());
    for (const std::string& pattern : first->mx) {
      EXPECT_EQ(pattern.find('*', pattern.rfind("*.", 0) == 0 ? 1 : 0), std::string::npos)
          << pattern;
      EXPECT_NE(pattern.back(), '.') << pattern;
    }
  }
}

}  // namespace
}  // namespace mtasts::policy
