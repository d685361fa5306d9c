#include "collectors/common/domain_name.h"

#include <arpa/inet.h>
#include <idn2.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <memory>
#include <vector>

namespace mtasts {
namespace {

constexpr std::size_t kMaxName = 253;
constexpr std::size_t kMaxLabel = 63;

/// The value as the user gave it, quoted, with non-printable bytes escaped for messages.
std::string Quote(std::string_view input) {
  std::string out = "\"";
  for (unsigned char c : input.substr(0, 300)) {
    if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else {
      out += static_cast<char>(c);
    }
  }
  if (input.size() > 300) out += "...";
  return out + "\"";
}

Error Refuse(std::string_view input, const std::string& reason) {
  return Error{Quote(input) + " is not a domain name: " + reason};
}

/// One inet_aton-style number part: decimal, 0-prefixed octal or 0x-prefixed hex.
bool IsNumberPart(std::string_view part) {
  if (part.empty()) return false;
  if (part.size() > 2 && part[0] == '0' && (part[1] == 'x' || part[1] == 'X')) {
    return std::all_of(part.begin() + 2, part.end(),
                       [](unsigned char c) { return std::isxdigit(c) != 0; });
  }
  return std::all_of(part.begin(), part.end(),
                     [](unsigned char c) { return std::isdigit(c) != 0; });
}

/// True for every IPv4 spelling inet_aton accepts (127.1, 0x7f.0.0.1, 2130706433, 0177.0.0.1).
bool LooksLikeIpv4(std::string_view text) {
  if (!text.empty() && text.back() == '.') text.remove_suffix(1);
  std::size_t parts = 0;
  while (true) {
    auto dot = text.find('.');
    if (!IsNumberPart(text.substr(0, dot))) return false;
    ++parts;
    if (dot == std::string_view::npos) break;
    text.remove_prefix(dot + 1);
  }
  return parts <= 4;
}

bool IsValidUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = c < 0x80           ? 1
                      : (c >> 5) == 0x6  ? 2
                      : (c >> 4) == 0xE  ? 3
                      : (c >> 3) == 0x1E ? 4
                                         : 0;
    if (len == 0 || i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += len;
  }
  return true;
}

}  // namespace

Result<std::string> NormalizeDomain(std::string_view input) {
  if (input.empty()) return Refuse(input, "it is empty");
  if (!IsValidUtf8(input)) return Refuse(input, "it is not valid UTF-8");
  for (unsigned char c : input) {
    if (c <= 0x20 || c == 0x7f)
      return Refuse(input, "it contains whitespace or control characters");
  }
  // Shapes that are something else than a domain: say what they look like.
  if (input.find("://") != std::string_view::npos || input.rfind("//", 0) == 0 ||
      input.find('/') != std::string_view::npos) {
    return Refuse(input, "it looks like a URL or path; give the bare mail domain (example.com)");
  }
  if (input.find('@') != std::string_view::npos) {
    return Refuse(input, "it looks like an e-mail address; give only the part after \"@\"");
  }
  if (input.front() == '[' || input.find(':') != std::string_view::npos) {
    std::string host(input);
    if (host.front() == '[') host = host.substr(1, host.find(']') - 1);
    host = host.substr(0, host.find('%'));
    unsigned char buf[16];
    if (inet_pton(AF_INET6, host.c_str(), buf) == 1 || input.front() == '[') {
      return Refuse(input, "it is an IP address literal; MTA-STS needs a domain name");
    }
    auto colon = input.rfind(':');
    return Refuse(input, "it has a port (\"" + std::string(input.substr(colon)) +
                             "\"); give the bare mail domain");
  }
  if (LooksLikeIpv4(input)) {
    return Refuse(input, "it is an IP address literal; MTA-STS needs a domain name");
  }

  std::string name(input);
  if (name.back() == '.') name.pop_back();  // one trailing dot: the absolute form
  if (name.empty()) return Refuse(input, "it has no labels");

  // IDNs to A-labels (IDNA2008 with UTS#46 mapping, non-transitional); ASCII is lower-cased.
  std::string ascii;
  const bool all_ascii =
      std::all_of(name.begin(), name.end(), [](unsigned char c) { return c < 0x80; });
  if (all_ascii) {
    ascii = name;
    std::transform(ascii.begin(), ascii.end(), ascii.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  } else {
    char* out = nullptr;
    int rc = idn2_to_ascii_8z(name.c_str(), &out, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
    if (rc != IDN2_OK) {
      return Refuse(input, std::string("it is not a valid internationalised name (") +
                               idn2_strerror(rc) + ")");
    }
    ascii = out;
    idn2_free(out);
  }

  if (ascii.size() > kMaxName) {
    return Refuse(input,
                  "it is " + std::to_string(ascii.size()) + " octets long; the limit is 253");
  }
  std::vector<std::string_view> labels;
  std::string_view rest = ascii;
  while (true) {
    auto dot = rest.find('.');
    labels.push_back(rest.substr(0, dot));
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot + 1);
  }
  for (auto label : labels) {
    if (label.empty()) return Refuse(input, "it has an empty label (\"..\" or a leading dot)");
    if (label.size() > kMaxLabel) {
      return Refuse(input, "label \"" + std::string(label.substr(0, 20)) + "...\" is " +
                               std::to_string(label.size()) + " octets; the limit is 63");
    }
    for (unsigned char c : label) {
      if (!(std::isalnum(c) || c == '-')) {
        return Refuse(input, std::string("label \"") + std::string(label) +
                                 R"(" has a character other than letters, digits and "-")");
      }
    }
    if (label.front() == '-' || label.back() == '-') {
      return Refuse(input, "label \"" + std::string(label) + R"(" starts or ends with "-")");
    }
  }
  if (labels.size() < 2) {
    return Refuse(input, "it is a single label; a mail domain has at least two (example.com)");
  }
  const auto tld = labels.back();
  if (std::all_of(tld.begin(), tld.end(), [](unsigned char c) { return std::isdigit(c) != 0; })) {
    return Refuse(input, "its top-level label \"" + std::string(tld) + "\" is all digits");
  }
  return ascii;
}

}  // namespace mtasts
