#include "base/domain_name.h"

#include <idn2.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace mtasts {
namespace {

// RFC 1035 §2.3.4: 255 octets on the wire, which is 253 in text without the trailing dot.
constexpr std::size_t kMaxDomainOctets = 253;
constexpr std::size_t kMaxLabelOctets = 63;
// Longer input cannot be a domain name, even with IDNA mappings that drop characters; refusing
// early keeps a hostile value from costing us more than a scan.
constexpr std::size_t kMaxInputOctets = 1024;
// Error messages show at most this much of the value.
constexpr std::size_t kMaxQuotedOctets = 300;

struct CodePoint {
  char32_t value = 0;
  std::size_t length = 0;
};

// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
std::optional<CodePoint> DecodeUtf8(std::string_view text, std::size_t pos) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char b0 = byte(pos);
  if (b0 < 0x80) return CodePoint{b0, 1};
  std::size_t length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xbf;
  char32_t value = 0;
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    length = 2;
    value = b0 & 0x1f;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    length = 3;
    value = b0 & 0x0f;
    if (b0 == 0xe0) low = 0xa0;   // overlong
    if (b0 == 0xed) high = 0x9f;  // surrogates
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    length = 4;
    value = b0 & 0x07;
    if (b0 == 0xf0) low = 0x90;   // overlong
    if (b0 == 0xf4) high = 0x8f;  // above U+10FFFF
  } else {
    return std::nullopt;
  }
  if (pos + length > text.size()) return std::nullopt;
  for (std::size_t i = 1; i < length; ++i) {
    const unsigned char b = byte(pos + i);
    if (b < (i == 1 ? low : 0x80) || b > (i == 1 ? high : 0xbf)) return std::nullopt;
    value = (value << 6) | (b & 0x3f);
  }
  return CodePoint{value, length};
}

// Unicode White_Space.
bool IsWhitespace(char32_t c) {
  return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0x85 || c == 0xa0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f ||
         c == 0x3000;
}

// C0, DEL and C1 controls.
bool IsControl(char32_t c) {
  return c < 0x20 || (c >= 0x7f && c <= 0x9f);
}

// Characters that do not show (or reorder what follows) in a log line or a terminal: printed
// escaped so a message cannot hide or disguise part of the value.
bool IsInvisible(char32_t c) {
  return c == 0xad || c == 0x34f || c == 0x61c || c == 0x115f || c == 0x1160 ||
         (c >= 0x17b4 && c <= 0x17b5) || (c >= 0x180b && c <= 0x180f) ||
         (c >= 0x200b && c <= 0x200f) || (c >= 0x202a && c <= 0x202e) ||
         (c >= 0x2060 && c <= 0x206f) || c == 0x3164 || (c >= 0xfe00 && c <= 0xfe0f) ||
         c == 0xfeff || c == 0xffa0 || (c >= 0xfff0 && c <= 0xfffb) ||
         (c >= 0xe0000 && c <= 0xe0fff);
}

void AppendHex(std::string& out, std::uint32_t value, int digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (int shift = 4 * (digits - 1); shift >= 0; shift -= 4) out += kHex[(value >> shift) & 0xf];
}

std::string EscapeCodePoint(char32_t c) {
  std::string out;
  if (c < 0x80) {
    switch (c) {
      case '\t': return "\\t";
      case '\n': return "\\n";
      case '\r': return "\\r";
      default:
        out = "\\x";
        AppendHex(out, c, 2);
        return out;
    }
  }
  out = c > 0xffff ? "\\U" : "\\u";
  AppendHex(out, c, c > 0xffff ? 8 : 4);
  return out;
}

// The value in double quotes, safe to print: quotes and backslashes escaped, controls and
// invisible characters as \xNN / \uNNNN, bytes that are not UTF-8 as \xNN; long values cut.
std::string Quote(std::string_view text) {
  std::string out = "\"";
  std::size_t pos = 0;
  while (pos < text.size()) {
    if (pos >= kMaxQuotedOctets) {
      out += "\"... (" + std::to_string(text.size()) + " octets)";
      return out;
    }
    const auto cp = DecodeUtf8(text, pos);
    if (!cp) {
      out += "\\x";
      AppendHex(out, static_cast<unsigned char>(text[pos]), 2);
      ++pos;
      continue;
    }
    if (cp->value == '"' || cp->value == '\\') {
      out += '\\';
      out += static_cast<char>(cp->value);
    } else if (IsControl(cp->value) || IsInvisible(cp->value) ||
               (cp->value != ' ' && IsWhitespace(cp->value))) {
      out += EscapeCodePoint(cp->value);
    } else {
      out += text.substr(pos, cp->length);
    }
    pos += cp->length;
  }
  out += '"';
  return out;
}

bool IsAsciiDigit(char c) {
  return c >= '0' && c <= '9';
}
bool IsAsciiHexDigit(char c) {
  return IsAsciiDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool IsAsciiLetter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool IsLdh(char c) {
  return IsAsciiLetter(c) || IsAsciiDigit(c) || c == '-';
}
char ToLowerAscii(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool StartsWithIgnoringCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (ToLowerAscii(text[i]) != prefix[i]) return false;
  }
  return true;
}

// Hex digits, colons and dots with at least two colons: what an IPv6 literal is made of,
// strictly valid or not ("::1", "::ffff:127.1", "fe80::1").
bool LooksLikeIpv6(std::string_view text) {
  if (std::count(text.begin(), text.end(), ':') < 2) return false;
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return IsAsciiHexDigit(c) || c == ':' || c == '.'; });
}

// A label that inet_aton(3) and the WHATWG URL host parser read as a number: decimal, octal
// with a leading 0, or hexadecimal with 0x (even "0x" alone).
bool IsNumericLabel(std::string_view label) {
  if (StartsWithIgnoringCase(label, "0x")) {
    return std::all_of(label.begin() + 2, label.end(), IsAsciiHexDigit);
  }
  return !label.empty() && std::all_of(label.begin(), label.end(), IsAsciiDigit);
}

// The value of one numeric part as inet_aton reads it; nothing when it is out of range or
// not a valid number (an 8 in an octal part).
std::optional<std::uint64_t> InetAtonNumber(std::string_view label) {
  std::uint64_t base = 10;
  if (StartsWithIgnoringCase(label, "0x")) {
    base = 16;
    label.remove_prefix(2);
  } else if (label.size() > 1 && label[0] == '0') {
    base = 8;
    label.remove_prefix(1);
  }
  std::uint64_t value = 0;
  for (char c : label) {
    const std::uint64_t digit = IsAsciiDigit(c)
                                    ? static_cast<std::uint64_t>(c - '0')
                                    : static_cast<std::uint64_t>(ToLowerAscii(c) - 'a' + 10);
    if (digit >= base) return std::nullopt;
    value = value * base + digit;
    if (value > 0xffffffffULL) return std::nullopt;
  }
  return value;
}

// inet_aton(3): "a", "a.b", "a.b.c", "a.b.c.d"; the last part fills the remaining bytes.
std::optional<std::uint32_t> InetAton(const std::vector<std::string>& labels) {
  std::uint64_t address = 0;
  const std::size_t count = labels.size();
  for (std::size_t i = 0; i < count; ++i) {
    const auto value = InetAtonNumber(labels[i]);
    if (!value) return std::nullopt;
    if (i + 1 < count) {
      if (*value > 0xff) return std::nullopt;
      address |= *value << (8 * (3 - i));
    } else {
      const std::uint64_t limit = (1ULL << (8 * (4 - i))) - 1;
      if (*value > limit) return std::nullopt;
      address |= *value;
    }
  }
  return static_cast<std::uint32_t>(address);
}

bool IsPlainDottedQuad(const std::vector<std::string>& labels) {
  if (labels.size() != 4) return false;
  return std::all_of(labels.begin(), labels.end(), [](const std::string& label) {
    return !label.empty() && label.size() <= 3 && (label.size() == 1 || label[0] != '0') &&
           std::all_of(label.begin(), label.end(), IsAsciiDigit) && std::stoi(label) <= 255;
  });
}

std::string DottedQuad(std::uint32_t address) {
  return std::to_string(address >> 24) + "." + std::to_string((address >> 16) & 0xff) + "." +
         std::to_string((address >> 8) & 0xff) + "." + std::to_string(address & 0xff);
}

// UTS #46 §2.3: these full stops separate labels like ".".
bool IsLabelSeparator(char32_t c) {
  return c == '.' || c == 0x3002 || c == 0xff0e || c == 0xff61;
}

struct Idn2Free {
  void operator()(char* p) const { idn2_free(p); }
};

// One label to its A-label with libidn2: UTS #46 non-transitional processing (IDNA2008), and
// transitional (IDNA2003-compatible) when that fails, as browsers and curl do, so that names
// registered under IDNA2003 (with symbols, say) still resolve.
Result<std::string, int> LabelToAscii(const std::string& label) {
  int first_rc = IDN2_OK;
  for (int flags : {IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL, IDN2_NFC_INPUT | IDN2_TRANSITIONAL}) {
    char* raw = nullptr;
    const int rc = idn2_to_ascii_8z(label.c_str(), &raw, flags);
    const std::unique_ptr<char, Idn2Free> out(raw);
    if (rc == IDN2_OK && out) return std::string(out.get());
    if (first_rc == IDN2_OK) first_rc = rc == IDN2_OK ? IDN2_MALLOC : rc;
  }
  return first_rc;
}

std::string Idn2Reason(int rc) {
  switch (rc) {
    case IDN2_TOO_BIG_LABEL:
    case IDN2_PUNYCODE_BIG_OUTPUT: return "it is longer than 63 octets after IDNA conversion";
    case IDN2_HYPHEN_STARTEND: return "it starts or ends with \"-\"";
    case IDN2_2HYPHEN: return "it has \"--\" in the third and fourth positions";
    case IDN2_PUNYCODE_BAD_INPUT:
    case IDN2_PUNYCODE_OVERFLOW: return "it is not valid Punycode";
    default: return idn2_strerror(rc);
  }
}

}  // namespace

Result<std::string> NormalizeDomain(std::string_view input) {
  const auto refuse = [&input](const std::string& reason) -> Result<std::string> {
    return Error{Quote(input) + " is not a domain name: " + reason};
  };

  if (input.empty()) return refuse("it is empty");
  if (input.size() > kMaxInputOctets) {
    return refuse("it is " + std::to_string(input.size()) + " octets long; the limit is " +
                  std::to_string(kMaxDomainOctets));
  }

  // One pass over the code points: encoding, whitespace, controls.
  for (std::size_t pos = 0; pos < input.size();) {
    const auto cp = DecodeUtf8(input, pos);
    if (!cp) {
      std::string reason = "it is not valid UTF-8 (byte 0x";
      AppendHex(reason, static_cast<unsigned char>(input[pos]), 2);
      return refuse(reason + " at offset " + std::to_string(pos) + ")");
    }
    if (IsWhitespace(cp->value)) {
      return refuse(cp->value == ' '
                        ? "it contains a space"
                        : "it contains whitespace (" + EscapeCodePoint(cp->value) + ")");
    }
    if (IsControl(cp->value)) {
      return refuse("it contains a control character (" + EscapeCodePoint(cp->value) + ")");
    }
    pos += cp->length;
  }

  // What people paste instead of a domain: a URL, host:port, user@host, an IPv6 literal.
  if (const std::size_t scheme = input.find("://");
      scheme != std::string_view::npos || input.starts_with("//")) {
    std::string_view host = input.substr(scheme == std::string_view::npos ? 2 : scheme + 3);
    host = host.substr(0, host.find_first_of("/?#"));
    if (const std::size_t at = host.rfind('@'); at != std::string_view::npos) {
      host.remove_prefix(at + 1);
    }
    if (!host.starts_with('[')) host = host.substr(0, host.find(':'));
    std::string reason = "it is a URL; give the bare mail domain";
    if (!host.empty()) reason += " (" + Quote(host) + ")";
    return refuse(reason);
  }
  if (const std::size_t slash = input.find('/'); slash != std::string_view::npos) {
    return refuse("it has a path (" + Quote(input.substr(slash)) + "); give the bare mail domain");
  }
  if (input.starts_with('[')) {
    if (const std::size_t close = input.find(']'); close != std::string_view::npos) {
      std::string_view inner = input.substr(1, close - 1);
      inner = inner.substr(0, inner.find('%'));  // zone id
      if (LooksLikeIpv6(inner)) {
        return refuse("it is an IPv6 address literal; give the mail domain");
      }
    }
  }
  if (const std::size_t at = input.rfind('@'); at != std::string_view::npos) {
    std::string reason = "it is a mail address (user@host); give only the domain after \"@\"";
    if (at + 1 < input.size()) reason += " (" + Quote(input.substr(at + 1)) + ")";
    return refuse(reason);
  }
  if (input.find(':') != std::string_view::npos) {
    if (LooksLikeIpv6(input.substr(0, input.find('%')))) {
      return refuse("it is an IPv6 address literal; give the mail domain");
    }
    const std::size_t colon = input.find(':');
    const std::string_view port = input.substr(colon + 1);
    if (!port.empty() && std::all_of(port.begin(), port.end(), IsAsciiDigit)) {
      return refuse("it has a port (" + Quote(input.substr(colon)) +
                    "); give the bare mail domain");
    }
  }

  // One trailing dot is the fully qualified spelling of the same name.
  std::string_view name = input;
  if (name.ends_with('.')) name.remove_suffix(1);
  if (name.empty()) return refuse("it is only the DNS root (\".\")");

  // Mail domains are host names: letters, digits and hyphens (RFC 5321 §4.1.2, RFC 1123 §2.1).
  for (char c : name) {
    if (static_cast<unsigned char>(c) >= 0x80 || IsLdh(c) || c == '.') continue;
    std::string reason = "it contains " + Quote(std::string_view(&c, 1)) +
                         " (a mail domain has only letters, digits, hyphens and dots";
    if (c == '_') reason += "; underscores belong to service names such as _mta-sts";
    return refuse(reason + ")");
  }

  // Split into labels, on "." and the full stops UTS #46 treats the same.
  std::vector<std::string_view> raw_labels;
  std::size_t start = 0;
  for (std::size_t pos = 0; pos < name.size();) {
    const auto cp = DecodeUtf8(name, pos);  // valid: checked above
    const std::size_t length = cp ? cp->length : 1;
    if (cp && IsLabelSeparator(cp->value)) {
      raw_labels.push_back(name.substr(start, pos - start));
      start = pos + length;
    }
    pos += length;
  }
  raw_labels.push_back(name.substr(start));
  for (std::size_t i = 0; i < raw_labels.size(); ++i) {
    if (!raw_labels[i].empty()) continue;
    if (i == 0) return refuse("it starts with a dot (an empty label)");
    if (i + 1 == raw_labels.size()) return refuse("it ends with two dots (an empty label)");
    return refuse("it has an empty label (two dots in a row)");
  }

  // To A-labels: ASCII labels are only lower-cased (so LDH names that IDNA2008 would reject,
  // like "r3--x", still work); U-labels and "xn--" labels go through libidn2.
  std::vector<std::string> labels;
  labels.reserve(raw_labels.size());
  for (std::string_view raw : raw_labels) {
    const bool ascii = std::all_of(raw.begin(), raw.end(),
                                   [](char c) { return static_cast<unsigned char>(c) < 0x80; });
    std::string label;
    if (ascii && !StartsWithIgnoringCase(raw, "xn--")) {
      label.reserve(raw.size());
      for (char c : raw) label += ToLowerAscii(c);
    } else {
      auto converted = LabelToAscii(std::string(raw));
      if (!converted) {
        return refuse("label " + Quote(raw) + " is not a valid internationalised label (" +
                      Idn2Reason(converted.error()) + ")");
      }
      label = std::move(converted).value();
      // UTS #46 maps some characters to ASCII punctuation ("／" to "/", "⒈" to "1."): the
      // result must still be a plain label.
      if (label.empty() || !std::all_of(label.begin(), label.end(), IsLdh)) {
        return refuse("label " + Quote(raw) + " maps to " + Quote(label) +
                      ", which is not a valid label of a mail domain");
      }
    }
    labels.push_back(std::move(label));
  }

  // An IPv4 address in any spelling inet_aton(3) accepts: 127.0.0.1, 127.1, 2130706433,
  // 0177.0.0.1, 0x7f.0.0.1, and their full-width forms after mapping.
  if (labels.size() <= 4 && std::all_of(labels.begin(), labels.end(),
                                        [](const std::string& l) { return IsNumericLabel(l); })) {
    if (IsPlainDottedQuad(labels)) {
      return refuse("it is an IPv4 address literal; give the mail domain");
    }
    if (const auto address = InetAton(labels)) {
      return refuse("it is an IPv4 address literal (another spelling of " + DottedQuad(*address) +
                    "); give the mail domain");
    }
    return refuse("it looks like an IPv4 address literal; give the mail domain");
  }

  std::string result;
  for (const std::string& label : labels) {
    if (label.size() > kMaxLabelOctets) {
      return refuse("label " + Quote(label) + " is " + std::to_string(label.size()) +
                    " octets long; the limit is " + std::to_string(kMaxLabelOctets));
    }
    // RFC 952 / RFC 1123 §2.1: a host name label neither starts nor ends with a hyphen.
    if (label.front() == '-') return refuse("label " + Quote(label) + " starts with \"-\"");
    if (label.back() == '-') return refuse("label " + Quote(label) + " ends with \"-\"");
    if (!result.empty()) result += '.';
    result += label;
  }
  if (result.size() > kMaxDomainOctets) {
    return refuse("it is " + std::to_string(result.size()) +
                  " octets long in DNS form; the limit is " + std::to_string(kMaxDomainOctets));
  }
  if (labels.size() == 1) {
    return refuse("it is a single label; give the full mail domain, such as \"example.com\"");
  }
  // No top-level domain is numeric, and URL parsers read a name ending in a number as IPv4.
  if (IsNumericLabel(labels.back())) {
    return refuse("its top-level label " + Quote(labels.back()) + " is all-numeric");
  }
  return result;
}

}  // namespace mtasts
