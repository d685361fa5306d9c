#include "collectors/sts/sts_record.h"

#include <cstddef>
#include <cstdio>
#include <optional>
#include <utility>

#include "collectors/records/txt_grammar.h"

namespace mtasts::sts {
namespace {

constexpr std::string_view kVersion = "v=STSv1";
constexpr std::size_t kMaxIdLength = 32;
constexpr std::size_t kMaxQuoted = 64;

using grammar::DescribeChar;
using grammar::IsAlnum;

std::string Quote(std::string_view text) {
  return grammar::Quote(text, kMaxQuoted);
}

// sts-id = %s"id=" 1*32(ALPHA / DIGIT)
std::optional<std::string> IdProblem(std::string_view value) {
  if (value.empty()) return std::string("id is empty");
  for (char c : value) {
    if (!IsAlnum(c)) {
      return "id " + Quote(value) + " has a character other than a letter or digit (" +
             DescribeChar(c) + ")";
    }
  }
  if (value.size() > kMaxIdLength) {
    return "id " + Quote(value) + " is longer than 32 characters (" + std::to_string(value.size()) +
           ")";
  }
  return std::nullopt;
}

}  // namespace

Result<StsRecord> ParseStsRecord(std::string_view text) {
  // RFC 8461 §3.1: sts-text-record = sts-version 1*(sts-field-delim sts-field)
  // [sts-field-delim]; sts-field = sts-id / sts-extension.
  static constexpr grammar::TagValueGrammar kGrammar{
      .version = kVersion,
      .section = "RFC 8461 §3.1",
      .required_name = "id",
      .required_field = "an id field",
      .max_quoted = kMaxQuoted,
      .required_value_problem = IdProblem,
  };
  auto parsed = grammar::ParseTagValueRecord(text, kGrammar);
  if (!parsed) return parsed.error();
  grammar::TagValueRecord& fields = parsed.value();
  return StsRecord{std::string(fields.required_value), std::move(fields.extensions)};
}

StsRecordSelection SelectStsRecord(const std::vector<std::string>& txt_records) {
  return grammar::SelectRecord<StsRecordSelection>(
      txt_records, kVersion, "exactly one is allowed (RFC 8461 §3.1)", ParseStsRecord);
}

}  // namespace mtasts::sts
