// The SSRF guard's verdicts. Pure computation: nothing here opens a socket or sends a packet.
#include "collectors/net/address_policy.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mtasts::net {
namespace {

struct Case {
  std::string address;
  std::string refused_by;  // a part of the expected reason; empty: allowed
};

IpAddress Addr(const std::string& text) {
  const auto address = IpAddress::Parse(text);
  if (!address) ADD_FAILURE() << "test address does not parse: " << text;
  return address.value_or(IpAddress{});
}

void ExpectVerdicts(const AddressPolicy& policy, const std::vector<Case>& cases) {
  for (const auto& c : cases) {
    SCOPED_TRACE("address: " + c.address);
    const AddressVerdict verdict = policy.Check(Addr(c.address));
    if (c.refused_by.empty()) {
      EXPECT_TRUE(verdict.allowed) << verdict.reason;
    } else {
      EXPECT_FALSE(verdict.allowed);
      EXPECT_NE(verdict.reason.find(c.refused_by), std::string::npos)
          << "reason: " << verdict.reason << "\nexpected to contain: " << c.refused_by;
    }
  }
}

TEST(AddressPolicy, RefusesEverySpecialIpv4RangeFirstLastAndInner) {
  const std::vector<Case> cases = {
      {"0.0.0.0", "0.0.0.0/8 (this network"},
      {"0.255.255.255", "0.0.0.0/8 ("},
      {"0.1.2.3", "0.0.0.0/8 ("},
      {"10.0.0.0", "10.0.0.0/8 (private-use, RFC 1918)"},
      {"10.255.255.255", "10.0.0.0/8 ("},
      {"10.1.2.3", "10.0.0.0/8 ("},
      {"100.64.0.0", "100.64.0.0/10 (shared address space"},
      {"100.127.255.255", "100.64.0.0/10 ("},
      {"100.100.100.100", "100.64.0.0/10 ("},
      {"127.0.0.0", "127.0.0.0/8 (loopback"},
      {"127.255.255.255", "127.0.0.0/8 ("},
      {"127.0.0.1", "127.0.0.0/8 ("},
      {"169.254.0.0", "169.254.0.0/16 (link-local"},
      {"169.254.255.255", "169.254.0.0/16 ("},
      {"169.254.169.254", "169.254.0.0/16 ("},
      {"172.16.0.0", "172.16.0.0/12 (private-use"},
      {"172.31.255.255", "172.16.0.0/12 ("},
      {"172.20.1.1", "172.16.0.0/12 ("},
      {"192.0.0.0", "192.0.0.0/24 (IETF protocol assignments"},
      {"192.0.0.255", "192.0.0.0/24 ("},
      {"192.0.0.9", "192.0.0.0/24 ("},
      {"192.0.2.0", "192.0.2.0/24 (documentation"},
      {"192.0.2.255", "192.0.2.0/24 ("},
      {"192.0.2.1", "192.0.2.0/24 ("},
      {"192.31.196.0", "192.31.196.0/24 (AS112"},
      {"192.31.196.255", "192.31.196.0/24 ("},
      {"192.31.196.1", "192.31.196.0/24 ("},
      {"192.52.193.0", "192.52.193.0/24 (AMT"},
      {"192.52.193.255", "192.52.193.0/24 ("},
      {"192.52.193.7", "192.52.193.0/24 ("},
      {"192.88.99.0", "192.88.99.0/24 (6to4 relay anycast"},
      {"192.88.99.255", "192.88.99.0/24 ("},
      {"192.88.99.1", "192.88.99.0/24 ("},
      {"192.168.0.0", "192.168.0.0/16 (private-use"},
      {"192.168.255.255", "192.168.0.0/16 ("},
      {"192.168.1.1", "192.168.0.0/16 ("},
      {"192.175.48.0", "192.175.48.0/24 (direct delegation"},
      {"192.175.48.255", "192.175.48.0/24 ("},
      {"192.175.48.6", "192.175.48.0/24 ("},
      {"198.18.0.0", "198.18.0.0/15 (benchmarking"},
      {"198.19.255.255", "198.18.0.0/15 ("},
      {"198.18.5.5", "198.18.0.0/15 ("},
      {"198.51.100.0", "198.51.100.0/24 (documentation"},
      {"198.51.100.255", "198.51.100.0/24 ("},
      {"198.51.100.5", "198.51.100.0/24 ("},
      {"203.0.113.0", "203.0.113.0/24 (documentation"},
      {"203.0.113.255", "203.0.113.0/24 ("},
      {"203.0.113.5", "203.0.113.0/24 ("},
      {"224.0.0.0", "224.0.0.0/4 (multicast"},
      {"239.255.255.255", "224.0.0.0/4 ("},
      {"233.1.2.3", "224.0.0.0/4 ("},
      {"240.0.0.0", "240.0.0.0/4 (reserved"},
      {"255.255.255.254", "240.0.0.0/4 ("},
      {"250.1.2.3", "240.0.0.0/4 ("},
      {"255.255.255.255", "255.255.255.255/32 (limited broadcast"},
  };
  ExpectVerdicts(AddressPolicy{}, cases);
}

TEST(AddressPolicy, AllowsPublicIpv4IncludingJustOutsideEachRange) {
  const std::vector<Case> cases = {
      {"8.8.8.8", ""},         {"1.1.1.1", ""},      {"9.9.9.9", ""},         {"1.0.0.0", ""},
      {"9.255.255.255", ""},   {"11.0.0.0", ""},     {"100.63.255.255", ""},  {"100.128.0.0", ""},
      {"126.255.255.255", ""}, {"128.0.0.0", ""},    {"169.253.255.255", ""}, {"169.255.0.0", ""},
      {"172.15.255.255", ""},  {"172.32.0.0", ""},   {"191.255.255.255", ""}, {"192.0.1.0", ""},
      {"192.0.1.255", ""},     {"192.0.3.0", ""},    {"192.31.195.255", ""},  {"192.31.197.0", ""},
      {"192.52.192.255", ""},  {"192.52.194.0", ""}, {"192.88.98.255", ""},   {"192.88.100.0", ""},
      {"192.167.255.255", ""}, {"192.169.0.0", ""},  {"192.175.47.255", ""},  {"192.175.49.0", ""},
      {"198.17.255.255", ""},  {"198.20.0.0", ""},   {"198.51.99.255", ""},   {"198.51.101.0", ""},
      {"203.0.112.255", ""},   {"203.0.114.0", ""},  {"223.255.255.255", ""},
  };
  ExpectVerdicts(AddressPolicy{}, cases);
}

TEST(AddressPolicy, RefusesEverySpecialIpv6RangeFirstLastAndInner) {
  const std::vector<Case> cases = {
      {"::", "::/128 (unspecified"},
      {"::1", "::1/128 (loopback"},
      {"64:ff9b:1::", "64:ff9b:1::/48 (local-use NAT64"},
      {"64:ff9b:1:ffff:ffff:ffff:ffff:ffff", "64:ff9b:1::/48 ("},
      {"64:ff9b:1::808:808", "64:ff9b:1::/48 ("},
      {"100::", "100::/64 (discard-only"},
      {"100::ffff:ffff:ffff:ffff", "100::/64 ("},
      {"100::1", "100::/64 ("},
      {"2001:1::1", "2001:1::1/128 (port control protocol anycast"},
      {"2001:1::2", "2001:1::2/128 (TURN anycast"},
      {"2001:1::3", "2001::/23 (IETF protocol assignments"},
      {"2001:2::", "2001:2::/48 (benchmarking"},
      {"2001:2:0:ffff:ffff:ffff:ffff:ffff", "2001:2::/48 ("},
      {"2001:2::1", "2001:2::/48 ("},
      {"2001:3::", "2001:3::/32 (AMT"},
      {"2001:3:ffff:ffff:ffff:ffff:ffff:ffff", "2001:3::/32 ("},
      {"2001:3::1", "2001:3::/32 ("},
      {"2001:4:112::", "2001:4:112::/48 (AS112-v6"},
      {"2001:4:112:ffff:ffff:ffff:ffff:ffff", "2001:4:112::/48 ("},
      {"2001:4:112::1", "2001:4:112::/48 ("},
      {"2001:10::", "2001:10::/28 (ORCHID"},
      {"2001:1f:ffff:ffff:ffff:ffff:ffff:ffff", "2001:10::/28 ("},
      {"2001:10::1", "2001:10::/28 ("},
      {"2001:20::", "2001:20::/28 (ORCHIDv2"},
      {"2001:2f:ffff:ffff:ffff:ffff:ffff:ffff", "2001:20::/28 ("},
      {"2001:20::1", "2001:20::/28 ("},
      {"2001:30::", "2001:30::/28 (drone"},
      {"2001:3f:ffff:ffff:ffff:ffff:ffff:ffff", "2001:30::/28 ("},
      {"2001:30::1", "2001:30::/28 ("},
      {"2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", "2001::/23 ("},
      {"2001:100::1", "2001::/23 ("},
      {"2001:5::1", "2001::/23 ("},
      {"2001:db8::", "2001:db8::/32 (documentation"},
      {"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db8::/32 ("},
      {"2001:db8::1", "2001:db8::/32 ("},
      {"2620:4f:8000::", "2620:4f:8000::/48 (direct delegation AS112"},
      {"2620:4f:8000:ffff:ffff:ffff:ffff:ffff", "2620:4f:8000::/48 ("},
      {"2620:4f:8000::1", "2620:4f:8000::/48 ("},
      {"3fff::", "3fff::/20 (documentation"},
      {"3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff", "3fff::/20 ("},
      {"3fff:123::1", "3fff::/20 ("},
      {"5f00::", "5f00::/16 (segment routing"},
      {"5f00:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "5f00::/16 ("},
      {"5f00:1::1", "5f00::/16 ("},
      {"fc00::", "fc00::/7 (unique local"},
      {"fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fc00::/7 ("},
      {"fd12:3456::1", "fc00::/7 ("},
      {"fe80::", "fe80::/10 (link-local"},
      {"febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fe80::/10 ("},
      {"fe80::1", "fe80::/10 ("},
      {"fec0::", "fec0::/10 (site-local"},
      {"feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fec0::/10 ("},
      {"fec0::1", "fec0::/10 ("},
      {"ff00::", "ff00::/8 (multicast"},
      {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ff00::/8 ("},
      {"ff02::1", "ff00::/8 ("},
      // Outside 2000::/3 global unicast, in no named range.
      {"1::", "outside 2000::/3"},
      {"1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "outside 2000::/3"},
      {"4000::", "outside 2000::/3"},
      {"8000::1", "outside 2000::/3"},
      {"e000::1", "outside 2000::/3"},
      {"fb00::1", "outside 2000::/3"},
      {"100:0:0:1::1", "outside 2000::/3"},      // dummy prefix, next to discard-only
      {"64:ff9b::1:0:0:1", "outside 2000::/3"},  // beside the NAT64 /96
      {"::1:0:0:1", "outside 2000::/3"},         // beside IPv4-compatible ::/96
      {"::fffe:0:1", "outside 2000::/3"},        // beside IPv4-mapped ::ffff:0:0/96
      {"::ffff:0:0:1", "outside 2000::/3"},      // SIIT IPv4-translated (RFC 2765)
  };
  ExpectVerdicts(AddressPolicy{}, cases);
}

TEST(AddressPolicy, AllowsPublicIpv6IncludingJustOutsideEachRange) {
  const std::vector<Case> cases = {
      {"2606:4700::1111", ""},
      {"2001:4860:4860::8888", ""},
      {"2a00:1450:4001::1", ""},
      {"2620:fe::fe", ""},
      {"2000::", ""},
      {"2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ""},
      {"2001:200::", ""},
      {"2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", ""},
      {"2001:db9::", ""},
      {"2003::", ""},
      {"2620:4f:7fff:ffff:ffff:ffff:ffff:ffff", ""},
      {"2620:4f:8001::", ""},
      {"3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ""},
      {"3fff:1000::", ""},
      {"3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ""},
  };
  ExpectVerdicts(AddressPolicy{}, cases);
}

TEST(AddressPolicy, JudgesEveryEmbeddedIpv4Form) {
  const std::vector<Case> cases = {
      // IPv4-mapped: never a target, public or not; the reason names the IPv4.
      {"::ffff:0.0.0.0", "::ffff:0:0/96 (IPv4-mapped; embeds 0.0.0.0)"},
      {"::ffff:255.255.255.255", "::ffff:0:0/96 (IPv4-mapped; embeds 255.255.255.255)"},
      {"::ffff:127.0.0.1", "::ffff:0:0/96 (IPv4-mapped; embeds 127.0.0.1)"},
      {"::ffff:10.1.2.3", "::ffff:0:0/96 (IPv4-mapped; embeds 10.1.2.3)"},
      {"::ffff:169.254.169.254", "embeds 169.254.169.254"},
      {"::ffff:8.8.8.8", "::ffff:0:0/96 (IPv4-mapped; embeds 8.8.8.8)"},
      // IPv4-compatible (deprecated): refused whatever it embeds.
      {"::0.0.0.2", "::/96 (IPv4-compatible"},
      {"::127.0.0.1", "embeds 127.0.0.1"},
      {"::8.8.8.8", "::/96 (IPv4-compatible, deprecated by RFC 4291; embeds 8.8.8.8)"},
      {"::255.255.255.255", "embeds 255.255.255.255"},
      // NAT64 well-known prefix: judged by the IPv4 in the last 32 bits.
      {"64:ff9b::", "64:ff9b::/96 (NAT64"},
      {"64:ff9b::0.0.0.0", "embeds 0.0.0.0, which is in 0.0.0.0/8"},
      {"64:ff9b::255.255.255.255", "which is in 255.255.255.255/32 (limited broadcast"},
      {"64:ff9b::127.0.0.1", "embeds 127.0.0.1, which is in 127.0.0.0/8 (loopback"},
      {"64:ff9b::10.0.0.1", "which is in 10.0.0.0/8 (private-use, RFC 1918)"},
      {"64:ff9b::a9fe:a9fe", "embeds 169.254.169.254"},
      {"64:ff9b::100.64.0.1", "which is in 100.64.0.0/10"},
      {"64:ff9b::192.0.2.1", "which is in 192.0.2.0/24"},
      {"64:ff9b::8.8.8.8", ""},
      {"64:ff9b::1.1.1.1", ""},
      {"64:ff9b::100.63.255.255", ""},
      // 6to4: judged by the IPv4 in bits 16-47.
      {"2002::", "2002::/16 (6to4, RFC 3056; embeds 0.0.0.0, which is in 0.0.0.0/8"},
      {"2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "embeds 255.255.255.255"},
      {"2002:7f00:1::", "embeds 127.0.0.1, which is in 127.0.0.0/8"},
      {"2002:a00:1::1", "embeds 10.0.0.1, which is in 10.0.0.0/8"},
      {"2002:c0a8:101::", "embeds 192.168.1.1"},
      {"2002:a9fe:a9fe::1", "embeds 169.254.169.254"},
      {"2002:808:808::1", ""},
      {"2002:101:101::", ""},
      // Teredo: always refused; the client IPv4 is the inverted last 32 bits (RFC 4380).
      {"2001::", "2001::/32 (Teredo, RFC 4380; embeds client 255.255.255.255)"},
      {"2001:0:ffff:ffff:ffff:ffff:ffff:ffff", "embeds client 0.0.0.0"},
      {"2001:0:4136:e378:8000:63bf:3fff:fdd2", "embeds client 192.0.2.45"},
      {"2001::80ff:fffe", "embeds client 127.0.0.1"},
      {"2001::f7f7:f7f7", "2001::/32 (Teredo, RFC 4380; embeds client 8.8.8.8)"},
  };
  ExpectVerdicts(AddressPolicy{}, cases);
}

TEST(AddressPolicy, ReasonsReadAsDocumented) {
  const AddressPolicy policy;
  EXPECT_EQ(policy.Check(Addr("10.1.2.3")).reason, "10.0.0.0/8 (private-use, RFC 1918)");
  EXPECT_EQ(policy.Check(Addr("::ffff:127.0.0.1")).reason,
            "::ffff:0:0/96 (IPv4-mapped; embeds 127.0.0.1)");
  EXPECT_EQ(policy.Check(Addr("8.8.8.8")).reason, "");
}

TEST(AddressPolicy, AllowListExemptsOnlyItsRanges) {
  struct AllowCase {
    std::vector<std::string> allowed;
    std::vector<Case> cases;
  };
  const std::vector<AllowCase> allow_cases = {
      {{"203.0.113.0/24"},
       {{"203.0.113.5", ""},
        {"203.0.113.0", ""},
        {"203.0.113.255", ""},
        {"198.51.100.5", "198.51.100.0/24 (documentation"},
        {"192.0.2.5", "192.0.2.0/24"},
        {"8.8.8.8", ""}}},
      {{"10.0.0.0/8", "fd00::/8"},
       {{"10.1.2.3", ""},
        {"11.0.0.0", ""},
        {"172.16.0.1", "172.16.0.0/12"},
        {"fd00::1", ""},
        {"fc00::1", "fc00::/7"},
        // The allow list applies to the IPv6 address itself, not to what it embeds.
        {"::ffff:10.1.2.3", "::ffff:0:0/96 (IPv4-mapped; embeds 10.1.2.3)"},
        {"64:ff9b::a01:203", "which is in 10.0.0.0/8"},
        {"2002:a01:203::", "which is in 10.0.0.0/8"},
        {"::10.1.2.3", "::/96 (IPv4-compatible"}}},
      {{"::ffff:10.0.0.0/104", "64:ff9b::/96", "2002::/16", "2001::/32"},
       {{"::ffff:10.1.2.3", ""},
        {"::ffff:11.1.2.3", "::ffff:0:0/96 (IPv4-mapped; embeds 11.1.2.3)"},
        {"64:ff9b::10.0.0.1", ""},
        {"2002:7f00:1::", ""},
        {"2001::80ff:fffe", ""},
        {"10.1.2.3", "10.0.0.0/8"}}},
      {{"127.0.0.1/32", "::1/128"},
       {{"127.0.0.1", ""}, {"127.0.0.2", "127.0.0.0/8"}, {"::1", ""}, {"::", "::/128"}}},
      {{"0.0.0.0/0"},
       {{"127.0.0.1", ""},
        {"255.255.255.255", ""},
        {"224.0.0.1", ""},
        {"::1", "::1/128"},
        {"::ffff:127.0.0.1", "IPv4-mapped"}}},
      {{"::/0"},
       {{"::1", ""}, {"fe80::1", ""}, {"::ffff:127.0.0.1", ""}, {"127.0.0.1", "127.0.0.0/8"}}},
  };
  for (const auto& allow_case : allow_cases) {
    std::string label = "allowed:";
    std::vector<Cidr> allowed;
    for (const auto& text : allow_case.allowed) {
      label += " " + text;
      const auto cidr = Cidr::Parse(text);
      ASSERT_TRUE(cidr.has_value()) << text;
      allowed.push_back(*cidr);
    }
    SCOPED_TRACE(label);
    ExpectVerdicts(AddressPolicy(allowed), allow_case.cases);
  }
}

TEST(AddressPolicy, SaysWhichAllowedRangeExempted) {
  const AddressPolicy policy({*Cidr::Parse("203.0.113.0/24")});
  const AddressVerdict verdict = policy.Check(Addr("203.0.113.5"));
  EXPECT_TRUE(verdict.allowed);
  EXPECT_EQ(verdict.reason, "allow-listed (203.0.113.0/24)");
}

}  // namespace
}  // namespace mtasts::net
