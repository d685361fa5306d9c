// The SSRF guard's verdicts. These tests only compute verdicts: no socket is ever opened.
#include <gtest/gtest.h>

#include "collectors/net/address_policy.h"

namespace mtasts::net {
namespace {

IpAddress Ip(const char* text) {
  auto ip = IpAddress::Parse(text);
  EXPECT_TRUE(ip.has_value()) << text;
  return ip.value_or(IpAddress::V4({0, 0, 0, 0}));
}

TEST(AddressPolicy, RefusesEverySpecialRangeAtItsEdgesAndInside) {
  // first, inner and last address of every refused range
  const char* refused[] = {
      "0.0.0.0",
      "0.1.2.3",
      "0.255.255.255",
      "10.0.0.0",
      "10.20.30.40",
      "10.255.255.255",
      "100.64.0.0",
      "100.100.1.1",
      "100.127.255.255",
      "127.0.0.0",
      "127.0.0.1",
      "127.255.255.255",
      "169.254.0.0",
      "169.254.169.254",
      "169.254.255.255",
      "172.16.0.0",
      "172.20.1.1",
      "172.31.255.255",
      "192.0.0.0",
      "192.0.0.8",
      "192.0.0.255",
      "192.0.2.0",
      "192.0.2.1",
      "192.0.2.255",
      "192.88.99.0",
      "192.88.99.1",
      "192.88.99.255",
      "192.168.0.0",
      "192.168.1.1",
      "192.168.255.255",
      "198.18.0.0",
      "198.19.1.1",
      "198.19.255.255",
      "198.51.100.0",
      "198.51.100.7",
      "198.51.100.255",
      "203.0.113.0",
      "203.0.113.10",
      "203.0.113.255",
      "224.0.0.0",
      "239.1.2.3",
      "239.255.255.255",
      "240.0.0.0",
      "250.1.2.3",
      "255.255.255.255",
      "::",
      "::1",
      "::ffff:127.0.0.1",
      "::ffff:8.8.8.8",
      "::ffff:10.0.0.1",  // mapped: never a target
      "::127.0.0.1",
      "::8.8.8.8",  // IPv4-compatible
      "64:ff9b::10.0.0.1",
      "64:ff9b::127.0.0.1",
      "64:ff9b::a9fe:a9fe",  // NAT64 of special
      "64:ff9b:1::1",
      "64:ff9b:1:ffff::1",
      "100::",
      "100::ffff:ffff:ffff:ffff",
      "2001::",
      "2001:0:4136:e378:8000:63bf:3fff:fdd2",  // Teredo
      "2001:2::1",
      "2001:1ff:ffff::1",  // IETF protocol assignments
      "2001:db8::",
      "2001:db8::1",
      "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
      "2002::",
      "2002:c000:0204::1",
      "2002:0a00:0001::1",  // 6to4
      "3fff::1",
      "3fff:fff:ffff::1",
      "5f00::1",
      "fc00::",
      "fd12:3456::1",
      "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
      "fe80::",
      "fe80::1",
      "febf:ffff::1",
      "fec0::1",
      "feff::1",
      "ff00::",
      "ff02::1",
      "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
      "4000::1",
      "::2",
      "1::1",  // outside global unicast 2000::/3
  };
  AddressPolicy guard;
  for (const char* text : refused) {
    SCOPED_TRACE(text);
    auto verdict = guard.Check(Ip(text));
    EXPECT_FALSE(verdict.allowed);
    EXPECT_FALSE(verdict.reason.empty());
  }
}

TEST(AddressPolicy, AllowsPublicAddressesJustOutsideTheRanges) {
  const char* allowed[] = {
      "1.0.0.1",          "8.8.8.8",           "1.1.1.1",
      "9.255.255.255",    "11.0.0.0",          "100.63.255.255",
      "100.128.0.0",      "126.255.255.255",   "128.0.0.0",
      "169.253.255.255",  "169.255.0.0",       "172.15.255.255",
      "172.32.0.0",       "192.0.1.255",       "192.0.3.0",
      "192.167.255.255",  "192.169.0.0",       "198.17.255.255",
      "198.20.0.0",       "198.51.99.255",     "198.51.101.0",
      "203.0.112.255",    "203.0.114.0",       "223.255.255.255",
      "2606:4700::1111",  "2a00:1450:4001::1", "2001:4860:4860::8888",
      "2001:200::1",
      "64:ff9b::808:808",  // NAT64 of a public address (RFC 6052 well-known prefix)
  };
  AddressPolicy guard;
  for (const char* text : allowed) {
    SCOPED_TRACE(text);
    EXPECT_TRUE(guard.Check(Ip(text)).allowed) << guard.Check(Ip(text)).reason;
  }
}

TEST(AddressPolicy, ReasonsNameTheRangeAndTheEmbeddedAddress) {
  AddressPolicy guard;
  EXPECT_EQ(guard.Check(Ip("10.1.2.3")).reason, "10.0.0.0/8 (private-use, RFC 1918)");
  EXPECT_NE(guard.Check(Ip("::ffff:127.0.0.1")).reason.find("127.0.0.1"), std::string::npos);
  EXPECT_NE(guard.Check(Ip("64:ff9b::a00:1")).reason.find("10.0.0.1"), std::string::npos);
  EXPECT_NE(guard.Check(Ip("2002:0a00:0001::1")).reason.find("10.0.0.1"), std::string::npos);
  // Teredo's client address is stored inverted (RFC 4380 §4).
  EXPECT_NE(guard.Check(Ip("2001:0:4136:e378:8000:63bf:3fff:fdd2")).reason.find("192.0.2.45"),
            std::string::npos);
}

TEST(AddressPolicy, AllowListExemptsOnlyItsRange) {
  AddressPolicy guard({*Cidr::Parse("203.0.113.0/24"), *Cidr::Parse("fd00::/8")});
  EXPECT_TRUE(guard.Check(Ip("203.0.113.5")).allowed);
  EXPECT_FALSE(guard.Check(Ip("198.51.100.5")).allowed);
  EXPECT_FALSE(guard.Check(Ip("10.0.0.1")).allowed);
  EXPECT_TRUE(guard.Check(Ip("fd00::1")).allowed);
  EXPECT_FALSE(guard.Check(Ip("fc00::1")).allowed);
  // An IPv4 exemption does not leak to the IPv6 forms that embed it.
  EXPECT_FALSE(guard.Check(Ip("::ffff:203.0.113.5")).allowed);
}

TEST(IpAddress, ParsesStrictlyAndPrintsCanonically) {
  struct Case {
    const char* in;
    const char* out;  // nullptr: refused
  } cases[] = {
      {"192.0.2.1", "192.0.2.1"},
      {"0.0.0.0", "0.0.0.0"},
      {"255.255.255.255", "255.255.255.255"},
      {"2001:DB8::1", "2001:db8::1"},
      {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},
      {"::ffff:192.0.2.1", "::ffff:192.0.2.1"},
      {"::", "::"},
      {"192.0.2.01", nullptr},  // leading zero: octal in some parsers
      {"127.1", nullptr},
      {"0x7f.0.0.1", nullptr},
      {"2130706433", nullptr},
      {"256.0.0.1", nullptr},
      {"1.2.3.4.", nullptr},
      {" 1.2.3.4", nullptr},
      {"[::1]", nullptr},
      {"fe80::1%eth0", nullptr},
      {"::ffff:127.000.0.1", nullptr},
      {"1:2:3:4:5:6:7:8:9", nullptr},
      {"", nullptr},
      {"example.com", nullptr},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.in);
    auto ip = IpAddress::Parse(c.in);
    if (c.out == nullptr) {
      EXPECT_FALSE(ip.has_value());
    } else {
      ASSERT_TRUE(ip.has_value());
      EXPECT_EQ(ip->ToString(), c.out);
    }
  }
}

TEST(Cidr, ParsesAndContains) {
  auto net = Cidr::Parse("10.0.0.0/8");
  ASSERT_TRUE(net);
  EXPECT_TRUE(net->Contains(*IpAddress::Parse("10.255.0.1")));
  EXPECT_FALSE(net->Contains(*IpAddress::Parse("11.0.0.1")));
  EXPECT_FALSE(net->Contains(*IpAddress::Parse("::ffff:10.0.0.1")));  // other family
  EXPECT_TRUE(Cidr::Parse("0.0.0.0/0")->Contains(*IpAddress::Parse("8.8.8.8")));
  EXPECT_TRUE(Cidr::Parse("2001:db8::/32")->Contains(*IpAddress::Parse("2001:db8:1::1")));
  EXPECT_EQ(Cidr::Parse("192.0.2.7")->ToString(), "192.0.2.7/32");
  EXPECT_TRUE(Cidr::Parse("100.64.0.0/10")->Contains(*IpAddress::Parse("100.127.1.1")));
  EXPECT_FALSE(Cidr::Parse("100.64.0.0/10")->Contains(*IpAddress::Parse("100.128.0.0")));
  for (const char* bad : {"10.0.0.1/8", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/08", "x/8",
                          "2001:db8::/129", "2001:db8::1/32", "10.0.0.0/-1"}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(Cidr::Parse(bad).has_value());
  }
}

}  // namespace
}  // namespace mtasts::net
