#include "collectors/policy/policy_parser.h"

#include <cstddef>
#include <cstdio>
#include <optional>
#include <set>
#include <utility>

#include "collectors/records/txt_grammar.h"

namespace mtasts::policy {
namespace {

constexpr std::size_t kMaxExtNameLength = 32;
constexpr std::size_t kMaxAgeDigits = 10;
constexpr std::size_t kMaxQuoted = 64;

using grammar::DescribeChar;
using grammar::EqualsIgnoreAsciiCase;
using grammar::IsAlnum;
using grammar::IsWsp;

std::string Quote(std::string_view text) {
  return grammar::Quote(text, kMaxQuoted);
}

// The length of the well-formed UTF8-2 / UTF8-3 / UTF8-4 sequence (RFC 3629 §4) that starts at
// `at`, or 0 when there is none (overlong forms, surrogates, code points above U+10FFFF, a
// truncated sequence).
std::size_t Utf8SequenceLength(std::string_view s, std::size_t at) {
  auto byte = [&](std::size_t i) -> unsigned {
    return at + i < s.size() ? static_cast<unsigned char>(s[at + i]) : 0U;
  };
  auto tail = [&](std::size_t i, unsigned lo = 0x80, unsigned hi = 0xBF) {
    return byte(i) >= lo && byte(i) <= hi;
  };
  const unsigned b0 = byte(0);
  if (b0 >= 0xC2 && b0 <= 0xDF) return tail(1) ? 2 : 0;
  if (b0 == 0xE0) return tail(1, 0xA0, 0xBF) && tail(2) ? 3 : 0;
  if ((b0 >= 0xE1 && b0 <= 0xEC) || b0 == 0xEE || b0 == 0xEF) return tail(1) && tail(2) ? 3 : 0;
  if (b0 == 0xED) return tail(1, 0x80, 0x9F) && tail(2) ? 3 : 0;
  if (b0 == 0xF0) return tail(1, 0x90, 0xBF) && tail(2) && tail(3) ? 4 : 0;
  if (b0 >= 0xF1 && b0 <= 0xF3) return tail(1) && tail(2) && tail(3) ? 4 : 0;
  if (b0 == 0xF4) return tail(1, 0x80, 0x8F) && tail(2) && tail(3) ? 4 : 0;
  return 0;
}

// sts-policy-ext-name = sts-policy-alphanum *31(sts-policy-alphanum / "_" / "-" / ".")
std::optional<std::string> NameProblem(std::string_view name) {
  if (name.empty()) return std::string("the field name is empty");
  if (name.size() > kMaxExtNameLength) {
    return "field name " + Quote(name) + " is longer than 32 characters";
  }
  if (!IsAlnum(name.front())) {
    return "field name " + Quote(name) + " does not start with a letter or digit";
  }
  for (char c : name) {
    if (!IsAlnum(c) && c != '_' && c != '-' && c != '.') {
      return "field name " + Quote(name) + " contains " + DescribeChar(c);
    }
  }
  return std::nullopt;
}

// sts-policy-ext-value = sts-policy-vchar [*(%x20 / sts-policy-vchar) sts-policy-vchar], with
// sts-policy-vchar = %x21-7E / UTF8-2 / UTF8-3 / UTF8-4. The caller has removed the *WSP on both
// sides, so only inner spaces remain; tabs and other CTLs are not allowed.
std::optional<std::string> ValueProblem(std::string_view name, std::string_view value) {
  if (value.empty()) return "field " + Quote(name) + " has no value";
  for (std::size_t i = 0; i < value.size();) {
    auto u = static_cast<unsigned char>(value[i]);
    if (u >= 0x20 && u <= 0x7E) {
      ++i;
    } else if (u >= 0x80) {
      std::size_t length = Utf8SequenceLength(value, i);
      if (length == 0) {
        char buf[64];
        std::snprintf(buf, sizeof(buf), " is not valid UTF-8 (byte 0x%02X at offset %zu)",
                      static_cast<unsigned>(u), i);
        return "value of " + Quote(name) + buf;
      }
      i += length;
    } else {
      return "value of " + Quote(name) + " contains " + DescribeChar(value[i]);
    }
  }
  return std::nullopt;
}

// RFC 5321 §4.1.2: Domain = sub-domain *("." sub-domain); sub-domain = Let-dig [Ldh-str].
std::optional<std::string> DomainProblem(std::string_view mx, std::string_view domain) {
  if (domain.empty()) return "mx " + Quote(mx) + " has no host name after \"*.\"";
  if (domain.back() == '.') {
    return "mx " + Quote(mx) + " ends with a dot (a pattern has no trailing dot)";
  }
  std::size_t start = 0;
  while (true) {
    std::size_t dot = domain.find('.', start);
    std::string_view label =
        domain.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (label.empty()) return "mx " + Quote(mx) + " has an empty label";
    for (char c : label) {
      if (c == '*') {
        return "mx " + Quote(mx) + R"(: "*" is allowed only as the whole first label, "*.")";
      }
      if (static_cast<unsigned char>(c) >= 0x80) {
        return "mx " + Quote(mx) +
               " is not ASCII (IDNs must be written as A-labels, RFC 8461 §3.2)";
      }
      if (!IsAlnum(c) && c != '-') {
        return "mx " + Quote(mx) + " contains " + DescribeChar(c) +
               " (labels hold letters, digits and \"-\")";
      }
    }
    if (label.front() == '-' || label.back() == '-') {
      return "mx " + Quote(mx) + " has the label " + Quote(label) +
             ", which starts or ends with \"-\"";
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return std::nullopt;
}

// sts-policy-mx-value = ["*."] Domain
std::optional<std::string> MxProblem(std::string_view mx) {
  std::string_view domain = mx;
  if (domain.substr(0, 2) == "*.") domain.remove_prefix(2);
  return DomainProblem(mx, domain);
}

// A line named like a known field whose value does not match that field's rule (`mode: bogus`).
// It is only an extension, but it explains the failure when the real field is missing.
struct Lookalike {
  std::size_t line = 0;
  std::string problem;
};

std::string AtLine(std::size_t line, std::string_view message) {
  return "line " + std::to_string(line) + ": " + std::string(message);
}

// What the parse saw of one known field.
struct FieldState {
  explicit FieldState(std::string_view field_name) : name(field_name) {}
  std::string_view name;
  std::size_t line = 0;  // the line of the field that counts; 0 when there is none
  std::optional<Lookalike> lookalike;
  std::size_t other_case_line = 0;  // first line with the name in another case ("Mode")
  std::string other_case_name;
};

std::string Missing(const FieldState& state) {
  if (state.lookalike) return AtLine(state.lookalike->line, state.lookalike->problem);
  std::string message = std::string(state.name) + " is missing";
  if (state.other_case_line != 0) {
    message += " (field names are case-sensitive: " + Quote(state.other_case_name) + " on line " +
               std::to_string(state.other_case_line) + " does not count)";
  }
  return message;
}

}  // namespace

Result<Policy> ParsePolicy(std::string_view body) {
  if (body.empty()) return Error{"the policy is empty"};

  Policy policy;
  FieldState version("version");
  FieldState mode("mode");
  FieldState max_age("max_age");
  FieldState mx("mx");
  std::uint64_t max_age_value = 0;
  std::set<std::string_view> extension_names;

  // sts-policy-record = sts-policy-field *WSP *(sts-policy-term sts-policy-field *WSP)
  //                     [sts-policy-term], sts-policy-term = LF / CRLF (RFC 8461 §3.2; the
  // ABNF's LF wins over the prose's "CRLF-separated", see erratum 6253). Every line holds one
  // field, and at most one line end may follow the last field.
  std::size_t line_number = 0;
  std::size_t pos = 0;
  while (pos < body.size()) {
    ++line_number;
    std::size_t lf = body.find('\n', pos);
    std::string_view line = body.substr(pos, lf == std::string_view::npos ? lf : lf - pos);
    pos = lf == std::string_view::npos ? body.size() : lf + 1;
    if (!line.empty() && line.back() == '\r' && lf != std::string_view::npos) {
      line.remove_suffix(1);  // CRLF
    }
    auto fail = [&](std::string_view message) { return Error{AtLine(line_number, message)}; };

    if (line.empty()) return fail("blank line (RFC 8461 §3.2 allows none)");
    if (line.find('\r') != std::string_view::npos) {
      return fail("bare CR (a line ends with LF or CRLF)");
    }
    if (line.find_first_not_of(" \t") == std::string_view::npos) {
      return fail("line holds only whitespace");
    }
    if (IsWsp(line.front())) {
      return fail("starts with whitespace (continuation lines are not allowed)");
    }
    if (line_number == 1 && line.substr(0, 3) == "\xEF\xBB\xBF") {
      return fail("starts with a UTF-8 byte order mark");
    }
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      return fail(Quote(line) + " is not a \"name: value\" field");
    }
    std::string_view name = line.substr(0, colon);
    if (!name.empty() && IsWsp(name.back())) return fail("whitespace before \":\"");
    if (auto problem = NameProblem(name)) return fail(*problem);
    // sts-policy-field-delim = ":" *WSP, and *WSP follows each field.
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && IsWsp(value.front())) value.remove_prefix(1);
    while (!value.empty() && IsWsp(value.back())) value.remove_suffix(1);
    if (auto problem = ValueProblem(name, value)) return fail(*problem);

    // Every line now matches sts-policy-extension at least. It is a known field only when it
    // matches that field's own rule: names and values are case-sensitive (%s, RFC 7405).
    //
    // RFC 8461 §3.2: "If any field other than mx appears more than once, every occurrence after
    // the first SHALL be ignored." We read "field" as the ABNF production: a line such as
    // `mode: bogus` is not an sts-policy-mode at all but an sts-policy-extension, so it neither
    // sets the mode nor hides a later `mode: enforce`, which is then the first mode field. The
    // look-alike is kept among the extensions and explains the failure when no real field
    // follows.
    std::optional<std::string> lookalike;
    FieldState* state = nullptr;
    if (name == "version") {
      state = &version;
      if (value == "STSv1") {
        if (version.line == 0) {
          version.line = line_number;
          policy.version = std::string(value);
        }
        continue;
      }
      lookalike = "version " + Quote(value) + " is not \"STSv1\"" +
                  (EqualsIgnoreAsciiCase(value, "STSv1") ? " (values are case-sensitive)" : "");
    } else if (name == "mode") {
      state = &mode;
      std::optional<Mode> parsed;
      if (value == "enforce") parsed = Mode::kEnforce;
      if (value == "testing") parsed = Mode::kTesting;
      if (value == "none") parsed = Mode::kNone;
      if (parsed) {
        if (mode.line == 0) {
          mode.line = line_number;
          policy.mode = *parsed;
        }
        continue;
      }
      const bool other_case = EqualsIgnoreAsciiCase(value, "enforce") ||
                              EqualsIgnoreAsciiCase(value, "testing") ||
                              EqualsIgnoreAsciiCase(value, "none");
      lookalike = "mode " + Quote(value) + " is not enforce, testing or none" +
                  (other_case ? " (values are case-sensitive)" : "");
    } else if (name == "max_age") {
      state = &max_age;
      // sts-policy-max-age-value = 1*10(DIGIT); leading zeros are digits like any other.
      const bool all_digits = value.find_first_not_of("0123456789") == std::string_view::npos;
      if (all_digits && value.size() <= kMaxAgeDigits) {
        if (max_age.line == 0) {
          max_age.line = line_number;
          max_age_value = 0;
          for (char c : value) max_age_value = max_age_value * 10 + static_cast<unsigned>(c - '0');
        }
        continue;
      }
      lookalike = all_digits ? "max_age " + Quote(value) + " has more than 10 digits"
                             : "max_age " + Quote(value) + " is not a number of 1 to 10 digits";
    } else if (name == "mx") {
      state = &mx;
      lookalike = MxProblem(value);
      if (!lookalike) {
        // mx is repeatable: every line counts, in order (§3.2).
        if (mx.line == 0) mx.line = line_number;
        policy.mx.emplace_back(value);
        continue;
      }
    } else {
      for (FieldState* known : {&version, &mode, &max_age, &mx}) {
        if (known->other_case_line == 0 && EqualsIgnoreAsciiCase(name, known->name)) {
          known->other_case_line = line_number;
          known->other_case_name = std::string(name);
        }
      }
    }
    if (state != nullptr && lookalike && !state->lookalike) {
      state->lookalike = Lookalike{line_number, std::move(*lookalike)};
    }
    // R16/R17: unknown fields are accepted and ignored; of a repeated one the first is kept.
    if (extension_names.insert(name).second) {
      policy.extensions.emplace_back(std::string(name), std::string(value));
    }
  }

  // R15: version, mode and max_age are required; mx unless mode is none.
  if (version.line == 0) return Error{Missing(version)};
  if (mode.line == 0) return Error{Missing(mode)};
  if (max_age.line == 0) return Error{Missing(max_age)};
  // RFC 8461 §3.2 caps max_age at 31557600 while the ABNF allows ten digits; a larger value is
  // not silently cut down: the policy is invalid.
  if (max_age_value > kMaxMaxAge) {
    return Error{AtLine(max_age.line, "max_age " + std::to_string(max_age_value) +
                                          " is larger than the maximum of " +
                                          std::to_string(kMaxMaxAge) + " seconds (RFC 8461 §3.2)")};
  }
  policy.max_age = static_cast<std::uint32_t>(max_age_value);
  if (policy.mx.empty() && policy.mode != Mode::kNone) {
    std::string message = "mx is required when mode is " + std::string(ModeName(policy.mode));
    if (mx.lookalike) {
      message = AtLine(mx.lookalike->line, mx.lookalike->problem) + "; " + message;
    } else if (mx.other_case_line != 0) {
      message += " (field names are case-sensitive: " + Quote(mx.other_case_name) + " on line " +
                 std::to_string(mx.other_case_line) + " does not count)";
    }
    return Error{message};
  }
  return policy;
}

}  // namespace mtasts::policy
