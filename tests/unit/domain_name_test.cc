#include "base/domain_name.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mtasts {
namespace {

// Printable form of a test input for SCOPED_TRACE (some inputs hold control bytes).
std::string Printable(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (c < 0x20 || c >= 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

struct Accepted {
  std::string input;
  std::string normalized;
};

TEST(NormalizeDomain, AcceptsMailDomainsAndReturnsTheirDnsForm) {
  const std::string label63(63, 'a');
  // 63 + 1 + 63 + 1 + 63 + 1 + 61 = 253 octets.
  const std::string name253 = label63 + "." + label63 + "." + label63 + "." + std::string(61, 'b');
  const std::vector<Accepted> cases = {
      {"example.com", "example.com"},
      {"EXAMPLE.COM.", "example.com"},
      {"Example.Com", "example.com"},
      {"example.com.", "example.com"},
      {"mta-sts.example.com", "mta-sts.example.com"},
      {"mail.example.co.uk", "mail.example.co.uk"},
      {"a.b", "a.b"},
      {"a-b.example", "a-b.example"},
      {"123.example", "123.example"},  // numeric labels are fine below the top level
      {"1.2.3.example", "1.2.3.example"},
      {"0x7f.example", "0x7f.example"},
      {"example.xn--p1ai", "example.xn--p1ai"},
      {"r3---sn-abc.example", "r3---sn-abc.example"},  // LDH, though IDNA2008 would refuse it
      {"bücher.example", "xn--bcher-kva.example"},
      {"BÜCHER.EXAMPLE", "xn--bcher-kva.example"},
      {"Bücher.Example.", "xn--bcher-kva.example"},
      {"xn--bcher-kva.example", "xn--bcher-kva.example"},
      {"XN--BCHER-KVA.EXAMPLE", "xn--bcher-kva.example"},
      {"bücher\u3002example", "xn--bcher-kva.example"},                   // ideographic full stop
      {"bücher\uff0eexample", "xn--bcher-kva.example"},                   // full-width full stop
      {"\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com", "example.com"},  // full-width letters
      {"b\u00fccher.example", "xn--bcher-kva.example"},                   // NFC
      {"bu\u0308cher.example", "xn--bcher-kva.example"},                  // NFD, normalised
      {"fa\u00df.de", "xn--fa-hia.de"},  // non-transitional: ß stays ß
      {"\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444", "xn--e1afmkfd.xn--p1ai"},
      {"\u4f8b\u3048.\u30c6\u30b9\u30c8", "xn--r8jz45g.xn--zckzah"},
      {"\U0001f4a9.la", "xn--ls8h.la"},  // IDNA2003-only: the transitional fallback
      {label63 + ".example", label63 + ".example"},
      {name253, name253},
      {name253 + ".", name253},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE("input: " + Printable(c.input));
    const auto result = NormalizeDomain(c.input);
    ASSERT_TRUE(result.has_value()) << result.error().message;
    EXPECT_EQ(result.value(), c.normalized);
    // The DNS form is a fixed point.
    const auto again = NormalizeDomain(result.value());
    ASSERT_TRUE(again.has_value()) << again.error().message;
    EXPECT_EQ(again.value(), c.normalized);
  }
}

struct Refused {
  std::string input;
  std::string reason;  // a part of the message after "is not a domain name: "
};

void ExpectRefused(const std::vector<Refused>& cases) {
  for (const auto& c : cases) {
    SCOPED_TRACE("input: " + Printable(c.input));
    const auto result = NormalizeDomain(c.input);
    ASSERT_FALSE(result.has_value()) << "accepted as " << result.value();
    const std::string& message = result.error().message;
    EXPECT_EQ(message.front(), '"') << message;  // names the value, quoted
    EXPECT_NE(message.find(" is not a domain name: "), std::string::npos) << message;
    EXPECT_NE(message.find(c.reason), std::string::npos)
        << "message: " << message << "\nexpected to contain: " << c.reason;
  }
}

TEST(NormalizeDomain, RefusesMalformedNames) {
  const std::string label64(64, 'a');
  const std::string name254 = std::string(63, 'a') + "." + std::string(63, 'a') + "." +
                              std::string(63, 'a') + "." + std::string(62, 'b');
  ExpectRefused({
      {"", "it is empty"},
      {".", "only the DNS root"},
      {"..", "empty label"},
      {".example.com", "starts with a dot"},
      {"a..b", "two dots in a row"},
      {"example.com..", "ends with two dots"},
      {"example\u3002\u3002com", "two dots in a row"},
      {label64 + ".example", "is 64 octets long; the limit is 63"},
      {name254, "it is 254 octets long in DNS form; the limit is 253"},
      {name254 + ".", "254 octets long"},
      {std::string(2000, 'a'), "it is 2000 octets long"},
      {"\u00fc" + std::string(62, 'a') + ".example", "longer than 63 octets"},
      {"a_b.example", "contains \"_\""},
      {"_mta-sts.example.com", "contains \"_\""},
      {"exa!mple.com", "contains \"!\""},
      {"example.com?", "contains \"?\""},
      {"example.com#x", "contains \"#\""},
      {"exa*mple.com", "contains \"*\""},
      {"*.example.com", "contains \"*\""},
      {"exa\"mple.com", R"(contains "\"")"},
      {"example.com\\", R"(contains "\\")"},
      {"example.com%", "contains \"%\""},
      {"[example.com]", "contains \"[\""},
      {"-abc.example", R"(label "-abc" starts with "-")"},
      {"abc-.example", R"(label "abc-" ends with "-")"},
      {"example.-", "starts with \"-\""},
      {"example.com-", "ends with \"-\""},
      {"localhost", "it is a single label"},
      {"com", "single label"},
      {"LOCALHOST.", "single label"},
      {"example.123", "its top-level label \"123\" is all-numeric"},
      {"example.0x1f", "top-level label \"0x1f\""},
      {"1.2.3.4.5", "top-level label \"5\""},
  });
}

TEST(NormalizeDomain, RefusesIpLiteralsInAnySpelling) {
  ExpectRefused({
      {"127.0.0.1", "it is an IPv4 address literal; give the mail domain"},
      {"127.0.0.1.", "IPv4 address literal"},
      {"8.8.8.8", "IPv4 address literal"},
      {"127.1", "IPv4 address literal (another spelling of 127.0.0.1)"},
      {"10.1.2", "another spelling of 10.1.0.2"},
      {"2130706433", "another spelling of 127.0.0.1"},
      {"0177.0.0.1", "another spelling of 127.0.0.1"},
      {"0x7f.0.0.1", "another spelling of 127.0.0.1"},
      {"0X7F.0.0.1", "another spelling of 127.0.0.1"},
      {"0x7f000001", "another spelling of 127.0.0.1"},
      {"0x7f.1", "another spelling of 127.0.0.1"},
      {"0xa9.0xfe.0xa9.0xfe", "another spelling of 169.254.169.254"},
      {"017700000001", "another spelling of 127.0.0.1"},
      {"0", "another spelling of 0.0.0.0"},
      {"0x", "another spelling of 0.0.0.0"},
      {"1.2.3.256", "looks like an IPv4 address literal"},
      {"999.999.999.999", "looks like an IPv4 address literal"},
      {"4294967296", "looks like an IPv4 address literal"},
      {"08.0.0.1", "looks like an IPv4 address literal"},  // 8 is not an octal digit
      {"\uff11\uff12\uff17.\uff10.\uff10.\uff11", "IPv4 address literal"},  // full-width
      {"127\u30020\u30020\u30021", "IPv4 address literal"},
      {"::1", "it is an IPv6 address literal"},
      {"::", "IPv6 address literal"},
      {"2001:db8::1", "IPv6 address literal"},
      {"::ffff:127.0.0.1", "IPv6 address literal"},
      {"::ffff:127.1", "IPv6 address literal"},
      {"fe80::1%eth0", "IPv6 address literal"},
      {"[::1]", "IPv6 address literal"},
      {"[::ffff:127.0.0.1]", "IPv6 address literal"},
      {"[fe80::1%eth0]", "IPv6 address literal"},
      {"[::1]:443", "IPv6 address literal"},
      {"[2001:DB8::1]", "IPv6 address literal"},
  });
}

TEST(NormalizeDomain, RefusesUrlsPortsAndMailAddresses) {
  ExpectRefused({
      {"https://example.com/", "it is a URL; give the bare mail domain (\"example.com\")"},
      {"http://example.com", "it is a URL"},
      {"https://user@example.com:8443/x?y#z", "URL; give the bare mail domain (\"example.com\")"},
      {"https://[::1]/", "it is a URL"},
      {"//example.com", "it is a URL; give the bare mail domain (\"example.com\")"},
      {"example.com/path", "it has a path (\"/path\"); give the bare mail domain"},
      {"example.com/", "it has a path (\"/\")"},
      {"example.com:443", "it has a port (\":443\"); give the bare mail domain"},
      {"example.com:25", "port (\":25\")"},
      {"example.com:", "contains \":\""},
      {"example.com:smtp", "contains \":\""},
      {"postmaster@example.com", "it is a mail address (user@host); give only the domain after"},
      {"postmaster@example.com", "(\"example.com\")"},
      {"@example.com", "mail address"},
      {"user@", "mail address"},
      {"mailto:postmaster@example.com", "mail address"},
  });
}

TEST(NormalizeDomain, RefusesWhitespaceControlsAndBadEncodings) {
  ExpectRefused({
      {" example.com", "it contains a space"},
      {"example.com ", "it contains a space"},
      {"exa mple.com", "it contains a space"},
      {"exa\tmple.com", "whitespace (\\t)"},
      {"example.com\n", "whitespace (\\n)"},
      {"example.com\r\n", "whitespace (\\r)"},
      {"example.com\u00a0", "whitespace (\\u00a0)"},
      {"example\u3000com", "whitespace (\\u3000)"},
      {"example\u2028com", "whitespace (\\u2028)"},
      {std::string("exa\0mple.com", 12), "control character (\\x00)"},
      {"exa\x01mple.com", "control character (\\x01)"},
      {"example.com\x7f", "control character (\\x7f)"},
      {"example\u0080.com", "control character (\\u0080)"},
      {"\xff.example", "it is not valid UTF-8 (byte 0xff at offset 0)"},
      {"b\xfc"
       "cher.example",
       "not valid UTF-8 (byte 0xfc at offset 1)"},      // Latin-1
      {"\xc0\xae.example", "not valid UTF-8"},          // overlong "."
      {"\xe0\x80\xae.example", "not valid UTF-8"},      // overlong "."
      {"\xed\xa0\x80.example", "not valid UTF-8"},      // surrogate
      {"\xf4\x90\x80\x80.example", "not valid UTF-8"},  // above U+10FFFF
      {"example.c\xc3", "not valid UTF-8"},             // truncated
  });
}

TEST(NormalizeDomain, RefusesInvalidInternationalisedLabels) {
  ExpectRefused({
      {"b\u00fc\u202echer.example",
       "label \"b\u00fc\\u202echer\" is not a valid internationalised"},
      {"xn--zz.example", "label \"xn--zz\" is not a valid internationalised label"},
      {"-b\u00fccher.example", "starts or ends with \"-\""},
      {"b\u00fccher-.example", "starts or ends with \"-\""},
      // UTS #46 mappings that produce punctuation must not sneak it past the checks.
      {"example.com\uff0fpath", "maps to \"com/path\""},
      {"example.com\uff1a443", "maps to \"com:443\""},
      {"\u2488.example", "label \"\u2488\" is not a valid internationalised label"},
      {"a\uff3fb.example", "maps to \"a_b\""},
  });
}

TEST(NormalizeDomain, MessagesNameTheValueAndTheReason) {
  struct Exact {
    std::string input;
    std::string message;
  };
  const std::vector<Exact> cases = {
      {"example.com:443",
       "\"example.com:443\" is not a domain name: it has a port (\":443\"); give the bare mail "
       "domain"},
      {"", "\"\" is not a domain name: it is empty"},
      {"localhost",
       "\"localhost\" is not a domain name: it is a single label; give the full mail domain, "
       "such as \"example.com\""},
      {"exa\x01mple.com",
       R"("exa\x01mple.com" is not a domain name: it contains a control character (\x01))"},
      {"b\xfc"
       "cher.example",
       "\"b\\xfccher.example\" is not a domain name: it is not valid UTF-8 (byte 0xfc at offset "
       "1)"},
      {"exa\"mple.com",
       "\"exa\\\"mple.com\" is not a domain name: it contains \"\\\"\" (a mail domain has only "
       "letters, digits, hyphens and dots)"},
      {"127.1",
       "\"127.1\" is not a domain name: it is an IPv4 address literal (another spelling of "
       "127.0.0.1); give the mail domain"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE("input: " + Printable(c.input));
    const auto result = NormalizeDomain(c.input);
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().message, c.message);
  }
}

TEST(NormalizeDomain, CutsLongValuesInMessages) {
  const std::string input(2000, 'a');
  const auto result = NormalizeDomain(input);
  ASSERT_FALSE(result.has_value());
  EXPECT_LT(result.error().message.size(), 400u);
  EXPECT_NE(result.error().message.find("\"... (2000 octets)"), std::string::npos);
}

}  // namespace
}  // namespace mtasts
