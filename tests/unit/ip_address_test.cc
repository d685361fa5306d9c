#include "collectors/net/ip_address.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mtasts::net {
namespace {

struct ParseCase {
  std::string text;
  std::string canonical;  // empty: refused
};

TEST(IpAddress, ParsesDottedQuadStrictly) {
  const std::vector<ParseCase> cases = {
      {"0.0.0.0", "0.0.0.0"},
      {"127.0.0.1", "127.0.0.1"},
      {"255.255.255.255", "255.255.255.255"},
      {"8.8.8.8", "8.8.8.8"},
      {"192.0.2.10", "192.0.2.10"},
      // Refused: not exactly four decimal parts 0-255 without leading zeros.
      {"", ""},
      {"127.1", ""},
      {"10.1.2", ""},
      {"2130706433", ""},
      {"0177.0.0.1", ""},
      {"01.2.3.4", ""},
      {"1.2.3.00", ""},
      {"0x7f.0.0.1", ""},
      {"0x7f000001", ""},
      {"256.0.0.1", ""},
      {"1.2.3.4.5", ""},
      {"1.2.3.", ""},
      {".1.2.3", ""},
      {"1..2.3", ""},
      {"1.2.3.4 ", ""},
      {" 1.2.3.4", ""},
      {"+1.2.3.4", ""},
      {"-1.2.3.4", ""},
      {"1.2.3.1000", ""},
      {"1.2.3.4/32", ""},
      {"a.b.c.d", ""},
      {"example.com", ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE("input: \"" + c.text + "\"");
    const auto address = IpAddress::Parse(c.text);
    if (c.canonical.empty()) {
      EXPECT_FALSE(address.has_value());
      continue;
    }
    ASSERT_TRUE(address.has_value());
    EXPECT_TRUE(address->is_v4());
    EXPECT_EQ(address->ToString(), c.canonical);
  }
}

TEST(IpAddress, ParsesIpv6AndPrintsRfc5952) {
  const std::vector<ParseCase> cases = {
      {"::", "::"},
      {"::1", "::1"},
      {"0:0:0:0:0:0:0:1", "::1"},
      {"0000:0000:0000:0000:0000:0000:0000:0000", "::"},
      {"2001:DB8::1", "2001:db8::1"},
      {"2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"},
      {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},     // first of two equal runs
      {"2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1"},       // longest run, not the first
      {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},  // a single zero group stays
      {"2001:db8::1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},   // "::" for one group is accepted
      {"1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"},
      {"::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"},
      {"1::", "1::"},
      {"fe80::", "fe80::"},
      {"FF02::1", "ff02::1"},
      {"2606:4700::1111", "2606:4700::1111"},
      {"::ffff:127.0.0.1", "::ffff:127.0.0.1"},
      {"::ffff:7f00:1", "::ffff:127.0.0.1"},
      {"0:0:0:0:0:ffff:10.1.2.3", "::ffff:10.1.2.3"},
      {"::1.2.3.4", "::102:304"},
      {"64:ff9b::192.0.2.1", "64:ff9b::c000:201"},
      {"1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"},
      {"2002:c000:0201::", "2002:c000:201::"},
      {"0:0:1:0:0:0:0:0", "0:0:1::"},
      {"1:0:0:2:0:0:0:3", "1:0:0:2::3"},
      // Refused.
      {":", ""},
      {":::", ""},
      {"1:::2", ""},
      {"1::2::3", ""},
      {":1::2", ""},
      {"1::2:", ""},
      {"1:2:3:4:5:6:7", ""},
      {"1:2:3:4:5:6:7:8:9", ""},
      {"1:2:3:4:5:6:7:8::", ""},
      {"::1:2:3:4:5:6:7:8", ""},
      {"1:2:3:4:5:6:7:1.2.3.4", ""},
      {"12345::1", ""},
      {"g::1", ""},
      {"[::1]", ""},
      {"fe80::1%eth0", ""},
      {"fe80::1%1", ""},
      {"::1.2.3.4:5", ""},
      {"1.2.3.4::", ""},
      {"::ffff:127.1", ""},
      {"::ffff:0127.0.0.1", ""},
      {"::ffff:1.2.3.256", ""},
      {"::1/128", ""},
      {" ::1", ""},
      {"::1 ", ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE("input: \"" + c.text + "\"");
    const auto address = IpAddress::Parse(c.text);
    if (c.canonical.empty()) {
      EXPECT_FALSE(address.has_value());
      continue;
    }
    ASSERT_TRUE(address.has_value());
    EXPECT_FALSE(address->is_v4());
    EXPECT_EQ(address->ToString(), c.canonical);
    // The canonical text reads back as the same address.
    EXPECT_EQ(IpAddress::Parse(address->ToString()), address);
  }
}

TEST(IpAddress, KeepsFamiliesApart) {
  const auto v4 = IpAddress::Parse("127.0.0.1");
  const auto mapped = IpAddress::Parse("::ffff:127.0.0.1");
  ASSERT_TRUE(v4 && mapped);
  EXPECT_NE(*v4, *mapped);
  EXPECT_EQ(*v4, IpAddress::V4({127, 0, 0, 1}));
  EXPECT_EQ(v4->bytes()[0], 127);
  EXPECT_EQ(v4->bytes()[4], 0);  // only the first four bytes are meaningful, the rest zero
  EXPECT_EQ(mapped->bytes()[10], 0xff);
  EXPECT_EQ(mapped->bytes()[15], 1);
}

TEST(Cidr, ParsesRangesAndRefusesHostBits) {
  struct Case {
    std::string text;
    std::string canonical;  // empty: refused
  };
  const std::vector<Case> cases = {
      {"10.0.0.0/8", "10.0.0.0/8"},
      {"0.0.0.0/0", "0.0.0.0/0"},
      {"192.0.2.1", "192.0.2.1/32"},
      {"192.0.2.1/32", "192.0.2.1/32"},
      {"100.64.0.0/10", "100.64.0.0/10"},
      {"2001:db8::/32", "2001:db8::/32"},
      {"2001:DB8:0::/32", "2001:db8::/32"},
      {"::/0", "::/0"},
      {"::1", "::1/128"},
      {"fe80::/10", "fe80::/10"},
      {"::ffff:0:0/96", "::ffff:0.0.0.0/96"},
      // Refused.
      {"", ""},
      {"/8", ""},
      {"10.0.0.0/", ""},
      {"10.0.0.0/33", ""},
      {"10.0.0.0/08", ""},
      {"10.0.0.0/-1", ""},
      {"10.0.0.0/+8", ""},
      {"10.0.0.0/8/8", ""},
      {"10.0.0.0/8 ", ""},
      {"10.1.0.0/8", ""},      // host bits
      {"100.64.0.0/9", ""},    // host bits
      {"192.0.2.1/31", ""},    // host bits
      {"2001:db8::1/32", ""},  // host bits
      {"fe80::/8", ""},        // host bits
      {"2001:db8::/129", ""},
      {"10/8", ""},
      {"example.com/8", ""},
      {"[2001:db8::]/32", ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE("input: \"" + c.text + "\"");
    const auto cidr = Cidr::Parse(c.text);
    if (c.canonical.empty()) {
      EXPECT_FALSE(cidr.has_value());
      continue;
    }
    ASSERT_TRUE(cidr.has_value());
    EXPECT_EQ(cidr->ToString(), c.canonical);
  }
}

TEST(Cidr, ContainsOnlyItsOwnFamilyAndRange) {
  struct Case {
    std::string cidr;
    std::string address;
    bool contained;
  };
  const std::vector<Case> cases = {
      {"10.0.0.0/8", "10.0.0.0", true},
      {"10.0.0.0/8", "10.255.255.255", true},
      {"10.0.0.0/8", "11.0.0.0", false},
      {"10.0.0.0/8", "9.255.255.255", false},
      {"100.64.0.0/10", "100.127.255.255", true},
      {"100.64.0.0/10", "100.128.0.0", false},
      {"100.64.0.0/10", "100.63.255.255", false},
      {"0.0.0.0/0", "255.255.255.255", true},
      {"0.0.0.0/0", "::", false},  // families never mix
      {"::/0", "0.0.0.0", false},
      {"::/0", "2001:db8::1", true},
      {"10.0.0.0/8", "::ffff:10.0.0.1", false},  // mapped is IPv6, not IPv4
      {"::ffff:0:0/96", "::ffff:10.0.0.1", true},
      {"192.0.2.1/32", "192.0.2.1", true},
      {"192.0.2.1/32", "192.0.2.2", false},
      {"fe80::/10", "febf:ffff::1", true},
      {"fe80::/10", "fec0::", false},
      {"2001:db8::/32", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", true},
      {"2001:db8::/32", "2001:db9::", false},
      {"::1/128", "::1", true},
      {"::1/128", "::2", false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.cidr + " contains " + c.address);
    const auto cidr = Cidr::Parse(c.cidr);
    const auto address = IpAddress::Parse(c.address);
    ASSERT_TRUE(cidr.has_value());
    ASSERT_TRUE(address.has_value());
    EXPECT_EQ(cidr->Contains(*address), c.contained);
  }
}

}  // namespace
}  // namespace mtasts::net
