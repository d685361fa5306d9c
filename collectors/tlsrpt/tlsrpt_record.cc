#include "collectors/tlsrpt/tlsrpt_record.h"

#include <cstddef>
#include <cstdio>
#include <optional>
#include <utility>

#include "collectors/records/txt_grammar.h"

namespace mtasts::tlsrpt {
namespace {

constexpr std::string_view kVersion = "v=TLSRPTv1";
constexpr std::size_t kMaxQuotedRecordText = 80;

using grammar::DescribeChar;
using grammar::EqualsIgnoreAsciiCase;
using grammar::IsAlnum;
using grammar::IsAlpha;
using grammar::IsDigit;

std::string QuoteRecordText(std::string_view text) {
  return grammar::Quote(text, kMaxQuotedRecordText);
}
using grammar::TrimWsp;

bool IsHexDigit(char c) {
  return IsDigit(c) || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

// RFC 3986 §2.3 unreserved and §2.2 sub-delims.
bool IsUnreserved(char c) {
  return IsAlnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}
bool IsSubDelim(char c) {
  switch (c) {
    case '!':
    case '$':
    case '&':
    case '\'':
    case '(':
    case ')':
    case '*':
    case '+':
    case ',':
    case ';':
    case '=': return true;
    default: return false;
  }
}

// Checks the characters of a URI component: percent-encodings well formed, every other byte
// unreserved, a sub-delim or one of `extra`. RFC 8460 §3: ",", "!" and ";" MUST be encoded.
std::optional<std::string> ComponentProblem(std::string_view uri, std::string_view part,
                                            std::string_view extra) {
  for (std::size_t i = 0; i < part.size(); ++i) {
    const char c = part[i];
    if (c == ',' || c == '!' || c == ';') {
      return "rua URI " + QuoteRecordText(uri) + " contains " + DescribeChar(c) +
             ", which must be percent-encoded (RFC 8460 §3)";
    }
    if (c == '%') {
      if (i + 2 >= part.size() || !IsHexDigit(part[i + 1]) || !IsHexDigit(part[i + 2])) {
        return "rua URI " + QuoteRecordText(uri) + " has a malformed percent-encoding";
      }
      i += 2;
      continue;
    }
    if (IsUnreserved(c) || IsSubDelim(c) || extra.find(c) != std::string_view::npos) continue;
    return "rua URI " + QuoteRecordText(uri) + " contains " + DescribeChar(c) +
           ", not allowed there";
  }
  return std::nullopt;
}

// The parts of an RFC 3986 §3 URI: scheme ":" hier-part ["?" query] ["#" fragment].
struct UriParts {
  std::string_view scheme;
  bool has_authority = false;
  std::string_view host;  // from the authority, without userinfo and port
  std::string_view path;
};

// RFC 3986 §3 URI (absolute, with a scheme), checked closely enough to reject what a reporter
// could not use: no scheme, stray characters, bad percent-encodings, a broken authority.
std::optional<std::string> UriProblem(std::string_view uri, UriParts& parts) {
  std::size_t colon = uri.find(':');
  if (uri.empty() || !IsAlpha(uri.front()) || colon == std::string_view::npos) {
    return "rua URI " + QuoteRecordText(uri) +
           " is not an absolute URI (it needs a scheme such as mailto:)";
  }
  parts.scheme = uri.substr(0, colon);
  for (char c : parts.scheme) {
    if (!IsAlnum(c) && c != '+' && c != '-' && c != '.') {
      return "rua URI " + QuoteRecordText(uri) + " has an invalid scheme " +
             QuoteRecordText(parts.scheme);
    }
  }
  std::string_view rest = uri.substr(colon + 1);
  if (rest.empty()) return "rua URI " + QuoteRecordText(uri) + " has nothing after the scheme";

  std::string_view fragment;
  if (std::size_t hash = rest.find('#'); hash != std::string_view::npos) {
    fragment = rest.substr(hash + 1);
    rest = rest.substr(0, hash);
  }
  std::string_view query;
  if (std::size_t question = rest.find('?'); question != std::string_view::npos) {
    query = rest.substr(question + 1);
    rest = rest.substr(0, question);
  }
  if (auto problem = ComponentProblem(uri, fragment, ":@/?")) return problem;
  if (auto problem = ComponentProblem(uri, query, ":@/?")) return problem;

  if (rest.substr(0, 2) == "//") {
    // authority = [ userinfo "@" ] host [ ":" port ]
    parts.has_authority = true;
    rest.remove_prefix(2);
    std::size_t slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    parts.path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
    std::string_view host_port = authority;
    if (std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
      if (auto problem = ComponentProblem(uri, authority.substr(0, at), ":")) return problem;
      host_port = authority.substr(at + 1);
    }
    std::string_view port;
    if (!host_port.empty() && host_port.front() == '[') {
      std::size_t close = host_port.find(']');
      if (close == std::string_view::npos) {
        return "rua URI " + QuoteRecordText(uri) + " has an unterminated \"[\" in its host";
      }
      parts.host = host_port.substr(0, close + 1);
      if (close == 1) return "rua URI " + QuoteRecordText(uri) + " has an empty IP literal";
      for (char c : parts.host.substr(1, close - 1)) {
        if (!IsHexDigit(c) && c != ':' && c != '.' && c != 'v' && c != 'V') {
          return "rua URI " + QuoteRecordText(uri) + " has an invalid IP literal " +
                 QuoteRecordText(parts.host);
        }
      }
      if (close + 1 < host_port.size()) {
        if (host_port[close + 1] != ':') {
          return "rua URI " + QuoteRecordText(uri) + " has characters after its IP literal";
        }
        port = host_port.substr(close + 2);
      }
    } else {
      std::size_t port_colon = host_port.find(':');
      parts.host = host_port.substr(0, port_colon);
      if (port_colon != std::string_view::npos) port = host_port.substr(port_colon + 1);
      if (auto problem = ComponentProblem(uri, parts.host, "")) return problem;
    }
    for (char c : port) {
      if (!IsDigit(c))
        return "rua URI " + QuoteRecordText(uri) + " has a port that is not a number";
    }
  } else {
    parts.path = rest;
  }
  if (auto problem = ComponentProblem(uri, parts.path, ":@/")) return problem;
  return std::nullopt;
}

// RFC 8460 §3: the supported schemes are mailto: (an address to mail) and https: (a host to
// POST to). Returns why the URI is not usable, or nothing when it is.
std::optional<std::string> UnsupportedReason(std::string_view uri, const UriParts& parts) {
  if (EqualsIgnoreAsciiCase(parts.scheme, "mailto")) {
    std::string_view to = parts.path;
    std::size_t at = to.find('@');
    if (at == std::string_view::npos || at == 0 || at + 1 == to.size()) {
      return "rua URI " + QuoteRecordText(uri) + " has no address of the form local@domain";
    }
    return std::nullopt;
  }
  if (EqualsIgnoreAsciiCase(parts.scheme, "https")) {
    if (!parts.has_authority || parts.host.empty()) {
      return "rua URI " + QuoteRecordText(uri) + " has no host";
    }
    return std::nullopt;
  }
  return "rua URI " + QuoteRecordText(uri) + " uses the unsupported scheme " +
         QuoteRecordText(parts.scheme);
}

// tlsrpt-rua = %s"rua=" tlsrpt-uri *(*WSP "," *WSP tlsrpt-uri); `value` follows "rua=".
std::optional<std::string> RuaProblem(std::string_view value, std::vector<std::string>& uris) {
  if (value.empty()) return std::string("rua has no URI");
  while (true) {
    std::size_t comma = value.find(',');
    std::string_view uri = TrimWsp(value.substr(0, comma));
    if (uri.empty()) return std::string("rua has an empty URI (a stray \",\")");
    UriParts parts;
    if (auto problem = UriProblem(uri, parts)) return problem;
    uris.emplace_back(uri);
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return std::nullopt;
}
std::optional<std::string> RuaValueProblem(std::string_view value) {
  std::vector<std::string> uris;
  return RuaProblem(value, uris);
}

}  // namespace

Result<TlsRptRecord> ParseTlsRptRecord(std::string_view text) {
  // RFC 8460 §3: tlsrpt-record = tlsrpt-version 1*(field-delim tlsrpt-field) [field-delim];
  // tlsrpt-field = tlsrpt-rua / tlsrpt-extension. The rua value may hold WSP around its ",".
  static constexpr grammar::TagValueGrammar kGrammar{
      .version = kVersion,
      .section = "RFC 8460 §3",
      .required_name = "rua",
      .required_field = "a rua field",
      .max_quoted = kMaxQuotedRecordText,
      .required_value_may_hold_wsp = true,
      .whitespace_rule = "allowed only around \";\" and between rua URIs",
      .required_value_problem = RuaValueProblem,
  };
  auto parsed = grammar::ParseTagValueRecord(text, kGrammar);
  if (!parsed) return parsed.error();
  TlsRptRecord record;
  record.extensions = std::move(parsed.value().extensions);
  RuaProblem(parsed.value().required_value, record.rua);  // valid: the grammar checked it

  // RFC 8460 §3: reports go to the supported destinations; a record with none is unusable.
  std::vector<std::string> reasons;
  for (const std::string& uri : record.rua) {
    UriParts parts;
    if (UriProblem(uri, parts)) continue;  // cannot happen: RuaProblem checked every URI
    std::optional<std::string> reason = UnsupportedReason(uri, parts);
    if (!reason) return record;
    reasons.push_back(std::move(*reason));
  }
  if (reasons.size() == 1) {
    return Error{reasons.front() + "; no rua URI is usable (mailto: or https:, RFC 8460 §3)"};
  }
  std::string message = "none of the " + std::to_string(record.rua.size()) +
                        " rua URIs is usable (mailto: with an address or https: with a host, "
                        "RFC 8460 §3): ";
  for (std::size_t i = 0; i < reasons.size(); ++i) {
    if (i > 0) message += "; ";
    message += reasons[i];
  }
  return Error{message};
}

TlsRptSelection SelectTlsRptRecord(const std::vector<std::string>& txt_records) {
  return grammar::SelectRecord<TlsRptSelection>(
      txt_records, kVersion, "exactly one is allowed (RFC 8460 §3)", ParseTlsRptRecord);
}

}  // namespace mtasts::tlsrpt
