#include "collectors/records/txt_grammar.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mtasts::grammar {
namespace {

std::optional<std::string> TokenProblem(std::string_view value) {
  if (value == "ok" || value == "fine") return std::nullopt;
  return "token " + std::string(value) + " is not ok";
}

// A record type of its own, to show what the grammar decides and what it leaves to the record.
constexpr TagValueGrammar kTestGrammar{
    .version = "v=TESTv1",
    .section = "RFC 0000 §1",
    .required_name = "tok",
    .required_field = "a tok field",
    .required_value_problem = TokenProblem,
};

std::vector<std::string> Fields(const TagValueRecord& record) {
  std::vector<std::string> out;
  for (const TagValueField& field : record.fields) {
    out.push_back(std::string(field.name) + "=" + std::string(field.value));
  }
  return out;
}

TEST(ParseTagValueRecord, KeepsEveryFieldInOrderAndTheFirstValidRequiredOne) {
  auto parsed =
      ParseTagValueRecord("v=TESTv1; x=1; tok=bad; tok=ok; x=2; tok=fine; y=3;", kTestGrammar);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(Fields(parsed.value()),
            (std::vector<std::string>{"x=1", "tok=bad", "tok=ok", "x=2", "tok=fine", "y=3"}));
  EXPECT_EQ(parsed.value().required_value, "ok");
  // The invalid "tok=bad" is an extension by the ABNF; of a repeated name the first is kept.
  EXPECT_EQ(parsed.value().extensions, (Extensions{{"x", "1"}, {"tok", "bad"}, {"y", "3"}}));
}

TEST(ParseTagValueRecord, NamesTheFirstProblemInFieldOrder) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {" v=TESTv1; tok=ok", "the record must begin with \"v=TESTv1\", without leading whitespace"},
      {"V=testV1; tok=ok",
       "the record must begin with \"v=TESTv1\" (case-sensitive), not "
       "\"V=testV1\""},
      {"v=TESTv1", "no field follows \"v=TESTv1\"; a tok field is required"},
      {"v=TESTv1; x!=1; y", "field name \"x!\" contains '!'"},
      {"v=TESTv1; y; x!=1", "field \"y\" has no \"=\""},
      {"v=TESTv1; tok=b d", "field \"tok=b d\" contains whitespace (allowed only around \";\")"},
      {"v=TESTv1; x=1;; tok=ok", "empty field between two \";\" (RFC 0000 §1)"},
      {"v=TESTv1; tok=bad", "token bad is not ok"},
      {"v=TESTv1; TOK=ok",
       "the tok field is missing (field names are case-sensitive: only \"tok=\" counts)"},
      {"v=TESTv1; x=1", "the tok field is missing (RFC 0000 §1)"},
  };
  for (const auto& [text, message] : cases) {
    auto parsed = ParseTagValueRecord(text, kTestGrammar);
    ASSERT_FALSE(parsed) << text;
    EXPECT_EQ(parsed.error().message, message) << text;
  }
}

}  // namespace
}  // namespace mtasts::grammar
