#include "collectors/common/domain_name.h"

#include <gtest/gtest.h>

namespace mtasts {
namespace {

TEST(DomainName, NormalisesToLowerCaseALabels) {
  struct Case {
    const char* in;
    const char* out;
  } cases[] = {
      {"example.com", "example.com"},
      {"EXAMPLE.COM.", "example.com"},
      {"Mail.Example.Co.UK", "mail.example.co.uk"},
      {"bücher.example", "xn--bcher-kva.example"},
      {"BÜCHER.example", "xn--bcher-kva.example"},
      {"xn--bcher-kva.example", "xn--bcher-kva.example"},
      {"例え.テスト", "xn--r8jz45g.xn--zckzah"},
      {"a-b.c1.test", "a-b.c1.test"},
      {"1.2.3.example", "1.2.3.example"},
      {"0x7f.example", "0x7f.example"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.in);
    auto normalized = NormalizeDomain(c.in);
    ASSERT_TRUE(normalized.has_value()) << normalized.error().message;
    EXPECT_EQ(normalized.value(), c.out);
  }
}

TEST(DomainName, RefusesWithAMessageNamingTheValue) {
  const std::string long_label(64, 'a');
  const std::string long_name = std::string(60, 'a') + "." + std::string(60, 'b') + "." +
                                std::string(60, 'c') + "." + std::string(60, 'd') +
                                ".example.example";
  struct Case {
    std::string in;
    const char* reason;  // a fragment of the message
  } cases[] = {
      {"", "empty"},
      {"localhost", "single label"},
      {"example", "single label"},
      {"a..b.com", "empty label"},
      {".example.com", "empty label"},
      {"example.com..", "empty label"},
      {long_label + ".com", "limit is 63"},
      {long_name, "limit is 253"},
      {"ex_ample.com", "other than letters"},
      {"-example.com", "starts or ends"},
      {"example-.com", "starts or ends"},
      {"example.123", "all digits"},
      {"127.0.0.1", "IP address"},
      {"127.1", "IP address"},
      {"10.1.2", "IP address"},
      {"2130706433", "IP address"},
      {"0177.0.0.1", "IP address"},
      {"0x7f.0.0.1", "IP address"},
      {"0x7f000001", "IP address"},
      {"::1", "IP address"},
      {"[::1]", "IP address"},
      {"[::ffff:127.0.0.1]", "IP address"},
      {"fe80::1%eth0", "IP address"},
      {"https://example.com/", "URL"},
      {"example.com/path", "URL"},
      {"//example.com", "URL"},
      {"example.com:443", "port"},
      {"postmaster@example.com", "e-mail"},
      {"exa mple.com", "whitespace"},
      {"example.com\n", "whitespace"},
      {std::string("exa\0mple.com", 12), "control"},
      {"\xff\xfe.com", "UTF-8"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.in);
    auto normalized = NormalizeDomain(c.in);
    ASSERT_FALSE(normalized.has_value()) << normalized.value();
    EXPECT_NE(normalized.error().message.find(c.reason), std::string::npos)
        << normalized.error().message;
    EXPECT_EQ(normalized.error().message.rfind("\"", 0), 0U) << "names the value first";
  }
}

}  // namespace
}  // namespace mtasts
