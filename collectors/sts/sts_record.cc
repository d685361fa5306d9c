#include "collectors/sts/sts_record.h"

#include <cstddef>
#include <cstdio>
#include <optional>
#include <set>
#include <utility>

#include "collectors/records/txt_grammar.h"

namespace mtasts::sts {
namespace {

constexpr std::string_view kVersion = "v=STSv1";
constexpr std::size_t kMaxIdLength = 32;
constexpr std::size_t kMaxQuoted = 64;

using grammar::DescribeChar;
using grammar::EqualsIgnoreAsciiCase;
using grammar::IsAlnum;
using grammar::IsWsp;

std::string Quote(std::string_view text) {
  return grammar::Quote(text, kMaxQuoted);
}

std::optional<std::string> ExtNameProblem(std::string_view name) {
  return grammar::TxtExtNameProblem(name, kMaxQuoted);
}
std::optional<std::string> ExtValueProblem(std::string_view name, std::string_view value) {
  return grammar::TxtExtValueProblem(name, value, kMaxQuoted);
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
  // RFC 8461 §3.1: sts-version = %s"v=STSv1" comes first, as literal, case-sensitive bytes.
  if (text.substr(0, kVersion.size()) != kVersion) {
    if (!text.empty() && IsWsp(text.front())) {
      return Error{"the record must begin with \"v=STSv1\", without leading whitespace"};
    }
    if (EqualsIgnoreAsciiCase(text.substr(0, kVersion.size()), kVersion)) {
      return Error{"the record must begin with \"v=STSv1\" (case-sensitive), not " +
                   Quote(text.substr(0, kVersion.size()))};
    }
    return Error{"the record does not begin with \"v=STSv1\""};
  }
  auto split = grammar::SplitTxtFields(text.substr(kVersion.size()), kVersion, "an id field",
                                       "RFC 8461 §3.1");
  if (!split) return split.error();
  const std::vector<std::string_view>& fields = split.value();

  StsRecord record;
  std::optional<std::string> first_bad_id;  // an "id=" field that is not a valid sts-id
  bool saw_other_case_id = false;
  std::set<std::string_view> extension_names;
  for (std::string_view field : fields) {
    std::size_t eq = field.find('=');
    if (eq == std::string_view::npos) return Error{"field " + Quote(field) + " has no \"=\""};
    std::string_view name = field.substr(0, eq);
    std::string_view value = field.substr(eq + 1);
    if ((!name.empty() && IsWsp(name.back())) || (!value.empty() && IsWsp(value.front()))) {
      return Error{"whitespace around \"=\" in field " + Quote(field) + " is not allowed"};
    }
    if (field.find_first_of(" \t") != std::string_view::npos) {
      return Error{"field " + Quote(field) + " contains whitespace (allowed only around \";\")"};
    }

    if (name == "id") {
      std::optional<std::string> id_problem = IdProblem(value);
      if (!id_problem) {
        // RFC 8461 §3.2 (last paragraph, applied to the TXT record as R9): the first id counts.
        if (record.id.empty()) record.id = std::string(value);
        continue;
      }
      // Not an sts-id. By the ABNF an "id=" field with a value such as "a-b" still matches
      // sts-extension (§3.1), so it is an unknown field; the record then lacks an id unless a
      // valid one appears elsewhere. A value that is not even an sts-ext-value makes the record
      // invalid; either way the id problem is the clearer message.
      if (ExtValueProblem(name, value)) return Error{*id_problem};
      if (!first_bad_id) first_bad_id = std::move(id_problem);
    } else {
      if (std::optional<std::string> problem = ExtNameProblem(name)) return Error{*problem};
      if (std::optional<std::string> problem = ExtValueProblem(name, value)) {
        return Error{*problem};
      }
      if (EqualsIgnoreAsciiCase(name, "id")) saw_other_case_id = true;
    }
    // Unknown fields are ignored (§3.2); of a repeated one only the first is kept.
    if (extension_names.insert(name).second) {
      record.extensions.emplace_back(std::string(name), std::string(value));
    }
  }

  if (record.id.empty()) {
    if (first_bad_id) return Error{*first_bad_id};
    if (saw_other_case_id) {
      return Error{"the id field is missing (field names are case-sensitive: only \"id=\" counts)"};
    }
    return Error{"the id field is missing (RFC 8461 §3.1)"};
  }
  return record;
}

StsRecordSelection SelectStsRecord(const std::vector<std::string>& txt_records) {
  return grammar::SelectRecord<StsRecordSelection>(
      txt_records, kVersion, "exactly one is allowed (RFC 8461 §3.1)", ParseStsRecord);
}

}  // namespace mtasts::sts
