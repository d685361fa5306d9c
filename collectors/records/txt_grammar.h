#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/ascii.h"
#include "base/result.h"
#include "collectors/report/txt_fields.h"

/// The character classes and message helpers shared by the RFC 8461/8460 parsers (RFC 5234 core
/// rules), and the TXT record selection both RFCs describe.
namespace mtasts::grammar {

inline bool IsAlpha(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}
inline bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}
inline bool IsAlnum(char c) {
  return IsAlpha(c) || IsDigit(c);
}
inline bool IsWsp(char c) {
  return c == ' ' || c == '\t';
}  // RFC 5234 WSP

/// RFC 8461 §3.1 sts-ext-value and RFC 8460 §3 tlsrpt-ext-value: %x21-3A / %x3C / %x3E-7E
/// (visible ASCII except "=" and ";").
inline bool IsTxtExtValueChar(char c) {
  auto u = static_cast<unsigned char>(c);
  return u >= 0x21 && u <= 0x7E && c != '=' && c != ';';
}

std::string_view TrimWsp(std::string_view s);
using mtasts::EqualsIgnoreAsciiCase;

/// Quotes untrusted input for a message: printable ASCII as is, anything else as \xNN, cut
/// after `max_bytes` bytes with "...".
std::string Quote(std::string_view text, std::size_t max_bytes);

/// Names a byte for a message about an unexpected character ("a tab", "'='", "control byte 0x00").
std::string DescribeChar(char c);

/// ext-name = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / "."), for both TXT records.
std::optional<std::string> TxtExtNameProblem(std::string_view name, std::size_t max_quoted);
/// ext-value = 1*(%x21-3A / %x3C / %x3E-7E), for both TXT records.
std::optional<std::string> TxtExtValueProblem(std::string_view name, std::string_view value,
                                              std::size_t max_quoted);

/// The grammar shared by the `_mta-sts` (RFC 8461 §3.1) and `_smtp._tls` (RFC 8460 §3) TXT
/// records: `version 1*(*WSP ";" *WSP field) [*WSP ";" *WSP]`, each field `name=value`, where
/// a field is either the record's one required field (`id`, `rua`: its own value rule) or an
/// extension (ext-name "=" ext-value). What differs between the two records is described here.
struct TagValueGrammar {
  std::string_view version;         // the literal first field, "v=STSv1"
  std::string_view section;         // the rule, for messages: "RFC 8461 §3.1"
  std::string_view required_name;   // the required field's name, case-sensitive: "id"
  std::string_view required_field;  // the same for messages: "an id field"
  std::size_t max_quoted = 64;      // bytes of untrusted text quoted in a message
  /// Whether the required field's value may hold WSP (RFC 8460 §3: between rua URIs); when it
  /// may, `whitespace_rule` names where else whitespace is allowed.
  bool required_value_may_hold_wsp = false;
  std::string_view whitespace_rule = "allowed only around \";\"";
  /// Why a value of the required field is not valid under its own rule; nothing when it is.
  std::optional<std::string> (*required_value_problem)(std::string_view value) = nullptr;
};

/// One `name=value` field of a record, as written (views into the parsed text).
struct TagValueField {
  std::string_view name;
  std::string_view value;
};

/// A TXT record that parses under its `TagValueGrammar`.
struct TagValueRecord {
  std::vector<TagValueField> fields;  // every field after the version, in order
  /// The value of the first occurrence of the required field whose value is valid under its
  /// rule (RFC 8461 §3.2, last paragraph: the first one counts; RFC 8460 §3 does not make rua
  /// repeatable, so the same holds there).
  std::string_view required_value;
  /// Every other field, the first occurrence of each name only (unknown fields are ignored,
  /// RFC 8461 §3.2 and RFC 8460 §3). A field named like the required one whose value is not
  /// valid under its rule but is an ext-value is, by the ABNF, an extension and is kept here.
  Extensions extensions;
};

/// Parses one TXT record (character-strings joined) under `grammar`. Invalid when the version
/// is not the literal first field, a field is malformed, or no valid required field appears;
/// the message names what is wrong, the first problem in field order. Total: never throws.
Result<TagValueRecord> ParseTagValueRecord(std::string_view text, const TagValueGrammar& grammar);

/// True when `txt` begins with the version field `version` (followed by the end, WSP or ";"),
/// so "v=STSv10" does not begin with "v=STSv1".
bool BeginsWithVersion(std::string_view txt, std::string_view version);

/// RFC 8461 §3.1 and RFC 8460 §3: records not beginning with the version are discarded; none
/// left is kMissing, several kInvalid, one that does not parse kInvalid, else kValid.
/// `Selection` has status, record, raw, problem and candidates; `parse` returns Result<Record>.
template <class Selection, class Parse>
Selection SelectRecord(const std::vector<std::string>& txt_records, std::string_view version,
                       const std::string& too_many_rule, Parse parse) {
  Selection selection;
  const std::string* candidate = nullptr;
  for (const std::string& txt : txt_records) {
    if (!BeginsWithVersion(txt, version)) continue;
    ++selection.candidates;
    candidate = &txt;
  }
  if (selection.candidates == 0) {
    selection.status = RecordStatus::kMissing;
    return selection;
  }
  if (selection.candidates > 1) {
    selection.status = RecordStatus::kInvalid;
    selection.problem = std::to_string(selection.candidates) + " TXT records begin with " +
                        std::string(version) + "; " + too_many_rule;
    return selection;
  }
  selection.raw = *candidate;
  auto parsed = parse(*candidate);
  if (!parsed) {
    selection.status = RecordStatus::kInvalid;
    selection.problem = parsed.error().message;
    return selection;
  }
  selection.status = RecordStatus::kValid;
  selection.record = std::move(parsed).value();
  return selection;
}

}  // namespace mtasts::grammar
