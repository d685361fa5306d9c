#include "collectors/net/address_policy.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <utility>

namespace mtasts::net {
namespace {

// How an IPv6 range carries an IPv4 address, and what we make of it.
enum class Embedded {
  kNone,        // nothing embedded: refused outright
  kMapped,      // ::ffff:a.b.c.d, last 32 bits: refused, naming the IPv4
  kCompatible,  // ::a.b.c.d, last 32 bits: refused, naming the IPv4
  kTeredo,      // client IPv4 = inverted last 32 bits: refused, naming the client
  kNat64,       // last 32 bits: judged by the IPv4 (allowed when it is public)
  kSixToFour,   // bits 16-47: judged by the IPv4 (allowed when it is public)
};

struct SpecialRange {
  std::string_view cidr;
  std::string_view name;
  Embedded embedded = Embedded::kNone;
};

// IANA IPv4 Special-Purpose Address Registry (RFC 6890 and successors), every entry, plus
// multicast and the reserved class E. First match wins, so a narrower entry comes before the
// range that holds it.
constexpr std::array kIpv4Ranges = {
    // RFC 791 §3.2: "this network"; 0.0.0.0 reaches the local host on many stacks.
    SpecialRange{"0.0.0.0/8", "this network, RFC 791"},
    SpecialRange{"10.0.0.0/8", "private-use, RFC 1918"},
    // RFC 6598: carrier-grade NAT space, the ISP's internal network.
    SpecialRange{"100.64.0.0/10", "shared address space (CGNAT), RFC 6598"},
    SpecialRange{"127.0.0.0/8", "loopback, RFC 1122"},
    // RFC 3927; cloud metadata services (169.254.169.254) live here.
    SpecialRange{"169.254.0.0/16", "link-local, RFC 3927"},
    SpecialRange{"172.16.0.0/12", "private-use, RFC 1918"},
    // RFC 6890 §2.1: DS-Lite, PCP/TURN anycast, NAT64 discovery, ...
    SpecialRange{"192.0.0.0/24", "IETF protocol assignments, RFC 6890"},
    SpecialRange{"192.0.2.0/24", "documentation (TEST-NET-1), RFC 5737"},
    SpecialRange{"192.31.196.0/24", "AS112-v4, RFC 7535"},
    SpecialRange{"192.52.193.0/24", "AMT, RFC 7450"},
    // RFC 7526 deprecated the 6to4 relay anycast prefix of RFC 3068.
    SpecialRange{"192.88.99.0/24", "6to4 relay anycast, deprecated by RFC 7526"},
    SpecialRange{"192.168.0.0/16", "private-use, RFC 1918"},
    SpecialRange{"192.175.48.0/24", "direct delegation AS112 service, RFC 7534"},
    SpecialRange{"198.18.0.0/15", "benchmarking, RFC 2544"},
    SpecialRange{"198.51.100.0/24", "documentation (TEST-NET-2), RFC 5737"},
    SpecialRange{"203.0.113.0/24", "documentation (TEST-NET-3), RFC 5737"},
    SpecialRange{"224.0.0.0/4", "multicast, RFC 5771"},
    // RFC 919 §7 / RFC 8190; inside 240.0.0.0/4, listed first for the more precise name.
    SpecialRange{"255.255.255.255/32", "limited broadcast, RFC 919"},
    SpecialRange{"240.0.0.0/4", "reserved, RFC 1112"},
};

// IANA IPv6 Special-Purpose Address Registry (RFC 6890 and successors), plus the deprecated
// and multicast space of RFC 4291/3879. Everything outside 2000::/3 is refused after this table
// anyway; entries out there are listed for their names. First match wins.
constexpr std::array kIpv6Ranges = {
    SpecialRange{"::/128", "unspecified, RFC 4291"},
    SpecialRange{"::1/128", "loopback, RFC 4291"},
    // RFC 4291 §2.5.5.2: never a wire address for us; a socket would reach the IPv4 host.
    SpecialRange{"::ffff:0:0/96", "IPv4-mapped", Embedded::kMapped},
    // RFC 4291 §2.5.5.1 deprecated these; some stacks still tunnel them to the IPv4 host.
    SpecialRange{"::/96", "IPv4-compatible, deprecated by RFC 4291", Embedded::kCompatible},
    // RFC 6052 §3.1: the well-known prefix must not carry non-global IPv4 addresses.
    SpecialRange{"64:ff9b::/96", "NAT64 well-known prefix, RFC 6052", Embedded::kNat64},
    // RFC 8215: local-use NAT64, a network-specific translator with any prefix layout.
    SpecialRange{"64:ff9b:1::/48", "local-use NAT64, RFC 8215"},
    SpecialRange{"100::/64", "discard-only, RFC 6666"},
    // RFC 4380 §4: Teredo, the client's IPv4 is the inverted last 32 bits.
    SpecialRange{"2001::/32", "Teredo, RFC 4380", Embedded::kTeredo},
    SpecialRange{"2001:1::1/128", "port control protocol anycast, RFC 7723"},
    SpecialRange{"2001:1::2/128", "TURN anycast, RFC 8155"},
    SpecialRange{"2001:2::/48", "benchmarking, RFC 5180"},
    SpecialRange{"2001:3::/32", "AMT, RFC 7450"},
    SpecialRange{"2001:4:112::/48", "AS112-v6, RFC 7535"},
    SpecialRange{"2001:10::/28", "ORCHID, deprecated by RFC 7343"},
    SpecialRange{"2001:20::/28", "ORCHIDv2, RFC 7343"},
    SpecialRange{"2001:30::/28", "drone remote ID protocol entity tags, RFC 9374"},
    // RFC 2928: the IETF protocol assignments block holding the entries above.
    SpecialRange{"2001::/23", "IETF protocol assignments, RFC 2928"},
    SpecialRange{"2001:db8::/32", "documentation, RFC 3849"},
    // RFC 3056 §2: 6to4, the relay's IPv4 address in bits 16-47.
    SpecialRange{"2002::/16", "6to4, RFC 3056", Embedded::kSixToFour},
    SpecialRange{"2620:4f:8000::/48", "direct delegation AS112 service, RFC 7534"},
    SpecialRange{"3fff::/20", "documentation, RFC 9637"},
    SpecialRange{"5f00::/16", "segment routing (SRv6) SIDs, RFC 9602"},
    SpecialRange{"fc00::/7", "unique local, RFC 4193"},
    SpecialRange{"fe80::/10", "link-local, RFC 4291"},
    SpecialRange{"fec0::/10", "site-local, deprecated by RFC 3879"},
    SpecialRange{"ff00::/8", "multicast, RFC 4291"},
};

// RFC 4291 §2.4 / IANA: global unicast is 2000::/3; the rest is reserved or special.
constexpr std::string_view kGlobalUnicast = "2000::/3";
constexpr std::string_view kGlobalUnicastReason = "outside 2000::/3 (not global unicast, RFC 4291)";

struct ParsedRange {
  Cidr cidr;
  const SpecialRange* range;
};

Cidr ParseTableCidr(std::string_view text) {
  const auto cidr = Cidr::Parse(text);
  // The tables are ours: a bad entry is a bug, caught by the first test that runs Check().
  if (!cidr) throw std::logic_error("address_policy: bad built-in range " + std::string(text));
  return *cidr;
}

template <std::size_t N>
std::vector<ParsedRange> ParseTable(const std::array<SpecialRange, N>& table) {
  std::vector<ParsedRange> parsed;
  parsed.reserve(N);
  for (const SpecialRange& range : table) parsed.push_back({ParseTableCidr(range.cidr), &range});
  return parsed;
}

const std::vector<ParsedRange>& Ipv4Table() {
  static const std::vector<ParsedRange> kTable = ParseTable(kIpv4Ranges);
  return kTable;
}

const std::vector<ParsedRange>& Ipv6Table() {
  static const std::vector<ParsedRange> kTable = ParseTable(kIpv6Ranges);
  return kTable;
}

std::string Describe(const SpecialRange& range) {
  return std::string(range.cidr) + " (" + std::string(range.name) + ")";
}

// The reason an IPv4 address is refused, or nothing when it is public.
std::optional<std::string> Ipv4Refusal(const IpAddress& address) {
  for (const ParsedRange& entry : Ipv4Table()) {
    if (entry.cidr.Contains(address)) return Describe(*entry.range);
  }
  return std::nullopt;
}

IpAddress Ipv4At(const std::array<std::uint8_t, 16>& bytes, std::size_t offset,
                 std::uint8_t flip = 0) {
  return IpAddress::V4({static_cast<std::uint8_t>(bytes[offset] ^ flip),
                        static_cast<std::uint8_t>(bytes[offset + 1] ^ flip),
                        static_cast<std::uint8_t>(bytes[offset + 2] ^ flip),
                        static_cast<std::uint8_t>(bytes[offset + 3] ^ flip)});
}

AddressVerdict Refuse(std::string reason) {
  return {false, std::move(reason)};
}

AddressVerdict CheckIpv6(const IpAddress& address) {
  const auto& bytes = address.bytes();
  for (const ParsedRange& entry : Ipv6Table()) {
    if (!entry.cidr.Contains(address)) continue;
    const SpecialRange& range = *entry.range;
    const std::string head = std::string(range.cidr) + " (" + std::string(range.name);
    switch (range.embedded) {
      case Embedded::kNone: return Refuse(head + ")");
      case Embedded::kMapped:
      case Embedded::kCompatible:
        return Refuse(head + "; embeds " + Ipv4At(bytes, 12).ToString() + ")");
      case Embedded::kTeredo:
        return Refuse(head + "; embeds client " + Ipv4At(bytes, 12, 0xff).ToString() + ")");
      case Embedded::kNat64:
      case Embedded::kSixToFour: {
        const IpAddress inner = Ipv4At(bytes, range.embedded == Embedded::kNat64 ? 12 : 2);
        if (auto why = Ipv4Refusal(inner)) {
          return Refuse(head + "; embeds " + inner.ToString() + ", which is in " + *why + ")");
        }
        // A translator or relay in front of a public IPv4 host: the host is what we reach.
        return {true, ""};
      }
    }
  }
  static const Cidr kGlobalUnicastRange = ParseTableCidr(kGlobalUnicast);
  if (!kGlobalUnicastRange.Contains(address)) return Refuse(std::string(kGlobalUnicastReason));
  return {true, ""};
}

}  // namespace

AddressPolicy::AddressPolicy(std::vector<Cidr> allowed) : allowed_(std::move(allowed)) {}

AddressVerdict AddressPolicy::Check(const IpAddress& address) const {
  // The operator's exemptions come first. They match the address as given: allowing
  // 127.0.0.0/8 does not allow ::ffff:127.0.0.1, which needs ::ffff:127.0.0.0/104.
  for (const Cidr& range : allowed_) {
    if (range.Contains(address)) return {true, "allow-listed (" + range.ToString() + ")"};
  }
  if (address.is_v4()) {
    if (auto why = Ipv4Refusal(address)) return Refuse(std::move(*why));
    return {true, ""};
  }
  return CheckIpv6(address);
}

}  // namespace mtasts::net
