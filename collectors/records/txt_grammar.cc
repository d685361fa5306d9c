#include "collectors/records/txt_grammar.h"

#include <cstdio>
#include <set>
#include <utility>

namespace mtasts::grammar {
namespace {
constexpr std::size_t kMaxExtNameLength = 32;
}  // namespace

std::string_view TrimWsp(std::string_view s) {
  while (!s.empty() && IsWsp(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsWsp(s.back())) s.remove_suffix(1);
  return s;
}

std::string Quote(std::string_view text, std::size_t max_bytes) {
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size() && i < max_bytes; ++i) {
    auto u = static_cast<unsigned char>(text[i]);
    if (u == '"' || u == '\\') {
      out += '\\';
      out += text[i];
    } else if (u >= 0x20 && u <= 0x7E) {
      out += text[i];
    } else {
      char buf[5];
      std::snprintf(buf, sizeof(buf), "\\x%02X", static_cast<unsigned>(u));
      out += buf;
    }
  }
  if (text.size() > max_bytes) out += "...";
  out += '"';
  return out;
}

std::string DescribeChar(char c) {
  auto u = static_cast<unsigned char>(c);
  if (c == ' ') return "a space";
  if (c == '\t') return "a tab";
  if (u >= 0x21 && u <= 0x7E) return std::string("'") + c + "'";
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%s byte 0x%02X", u >= 0x80 ? "non-ASCII" : "control",
                static_cast<unsigned>(u));
  return buf;
}

std::optional<std::string> TxtExtNameProblem(std::string_view name, std::size_t max_quoted) {
  if (name.empty()) return "a field has an empty name";
  if (name.size() > kMaxExtNameLength) {
    return "field name " + Quote(name, max_quoted) + " is longer than 32 characters";
  }
  if (!IsAlnum(name.front())) {
    return "field name " + Quote(name, max_quoted) + " does not start with a letter or digit";
  }
  for (char c : name) {
    if (!IsAlnum(c) && c != '_' && c != '-' && c != '.') {
      return "field name " + Quote(name, max_quoted) + " contains " + DescribeChar(c);
    }
  }
  return std::nullopt;
}

std::optional<std::string> TxtExtValueProblem(std::string_view name, std::string_view value,
                                              std::size_t max_quoted) {
  if (value.empty()) return "field " + Quote(name, max_quoted) + " has an empty value";
  for (char c : value) {
    if (!IsTxtExtValueChar(c)) {
      return "value of field " + Quote(name, max_quoted) + " contains " + DescribeChar(c);
    }
  }
  return std::nullopt;
}

bool BeginsWithVersion(std::string_view txt, std::string_view version) {
  if (txt.substr(0, version.size()) != version) return false;
  return txt.size() == version.size() || IsWsp(txt[version.size()]) || txt[version.size()] == ';';
}

namespace {
// Splits what follows the version field into its fields. No field can hold a raw ";", so the
// text splits at every ";": the piece before the first must be whitespace, each later piece is
// one field with the delimiters' whitespace around it, and a last piece of only whitespace is
// the optional trailing delimiter.
Result<std::vector<std::string_view>> SplitFields(std::string_view rest, std::string_view version,
                                                  std::string_view required,
                                                  std::string_view section) {
  const std::string quoted = "\"" + std::string(version) + "\"";
  const std::string nothing_follows =
      "no field follows " + quoted + "; " + std::string(required) + " is required";
  if (!rest.empty() && !IsWsp(rest.front()) && rest.front() != ';') {
    return Error{quoted + R"( must be followed by ";", not )" + DescribeChar(rest.front())};
  }
  std::size_t semicolon = rest.find(';');
  if (semicolon == std::string_view::npos) {
    if (TrimWsp(rest).empty()) return Error{nothing_follows};
    return Error{quoted + R"( must be followed by ";")"};
  }
  if (!TrimWsp(rest.substr(0, semicolon)).empty()) {
    return Error{quoted + R"( must be followed by ";")"};
  }
  std::vector<std::string_view> fields;
  rest.remove_prefix(semicolon + 1);
  while (true) {
    semicolon = rest.find(';');
    if (semicolon == std::string_view::npos) {
      if (TrimWsp(rest).empty()) break;  // the optional trailing delimiter
      if (IsWsp(rest.back())) {
        return Error{"whitespace after the last field is allowed only before a \";\""};
      }
      fields.push_back(TrimWsp(rest));
      break;
    }
    std::string_view field = TrimWsp(rest.substr(0, semicolon));
    if (field.empty()) {
      return Error{"empty field between two \";\" (" + std::string(section) + ")"};
    }
    fields.push_back(field);
    rest.remove_prefix(semicolon + 1);
  }
  if (fields.empty()) return Error{nothing_follows};
  return fields;
}

}  // namespace

Result<TagValueRecord> ParseTagValueRecord(std::string_view text, const TagValueGrammar& grammar) {
  const std::string_view version = grammar.version;
  const auto quote = [&grammar](std::string_view s) { return Quote(s, grammar.max_quoted); };
  // The version comes first, as literal, case-sensitive bytes (RFC 8461 §3.1, RFC 8460 §3).
  if (text.substr(0, version.size()) != version) {
    const std::string quoted = "\"" + std::string(version) + "\"";
    if (!text.empty() && IsWsp(text.front())) {
      return Error{"the record must begin with " + quoted + ", without leading whitespace"};
    }
    if (EqualsIgnoreAsciiCase(text.substr(0, version.size()), version)) {
      return Error{"the record must begin with " + quoted + " (case-sensitive), not " +
                   quote(text.substr(0, version.size()))};
    }
    return Error{"the record does not begin with " + quoted};
  }
  auto split =
      SplitFields(text.substr(version.size()), version, grammar.required_field, grammar.section);
  if (!split) return split.error();

  TagValueRecord record;
  bool have_required = false;
  std::optional<std::string> first_bad_required;  // a required-name field with an invalid value
  bool saw_other_case_required = false;
  std::set<std::string_view> extension_names;
  for (std::string_view field : split.value()) {
    std::size_t eq = field.find('=');
    if (eq == std::string_view::npos) return Error{"field " + quote(field) + " has no \"=\""};
    std::string_view name = field.substr(0, eq);
    std::string_view value = field.substr(eq + 1);
    if ((!name.empty() && IsWsp(name.back())) || (!value.empty() && IsWsp(value.front()))) {
      return Error{"whitespace around \"=\" in field " + quote(field) + " is not allowed"};
    }
    const bool is_required = name == grammar.required_name;
    if ((!is_required || !grammar.required_value_may_hold_wsp) &&
        field.find_first_of(" \t") != std::string_view::npos) {
      return Error{"field " + quote(field) + " contains whitespace (" +
                   std::string(grammar.whitespace_rule) + ")"};
    }
    record.fields.push_back(TagValueField{name, value});

    if (is_required) {
      std::optional<std::string> problem = grammar.required_value_problem(value);
      if (!problem) {
        if (!have_required) record.required_value = value;
        have_required = true;
        continue;
      }
      // Not valid under the field's own rule. By the ABNF such a field (e.g. "id=a-b") still
      // matches the extension rule, so it is an unknown field; the record then lacks the
      // required field unless a valid one appears elsewhere. A value that is not even an
      // ext-value makes the record invalid; either way the field's own problem is the clearer
      // message.
      if (TxtExtValueProblem(name, value, grammar.max_quoted)) return Error{*problem};
      if (!first_bad_required) first_bad_required = std::move(problem);
    } else {
      if (auto problem = TxtExtNameProblem(name, grammar.max_quoted)) return Error{*problem};
      if (auto problem = TxtExtValueProblem(name, value, grammar.max_quoted)) {
        return Error{*problem};
      }
      if (EqualsIgnoreAsciiCase(name, grammar.required_name)) saw_other_case_required = true;
    }
    // Of a repeated unknown field only the first is kept.
    if (extension_names.insert(name).second) {
      record.extensions.emplace_back(std::string(name), std::string(value));
    }
  }

  if (!have_required) {
    if (first_bad_required) return Error{*first_bad_required};
    const std::string quoted_name = "\"" + std::string(grammar.required_name) + "=\"";
    if (saw_other_case_required) {
      return Error{"the " + std::string(grammar.required_name) +
                   " field is missing (field names are case-sensitive: only " + quoted_name +
                   " counts)"};
    }
    return Error{"the " + std::string(grammar.required_name) + " field is missing (" +
                 std::string(grammar.section) + ")"};
  }
  return record;
}

}  // namespace mtasts::grammar
