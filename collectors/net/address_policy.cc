#include "collectors/net/address_policy.h"

#include <string_view>

namespace mtasts::net {
namespace {

struct SpecialRange {
  std::string_view cidr;
  std::string_view name;
};

// IANA IPv4 Special-Purpose Address Registry (RFC 6890 and updates) plus multicast and the
// reserved class E: nothing here is a public web server we should ever contact.
constexpr SpecialRange kIpv4Refused[] = {
    {"0.0.0.0/8", "\"this network\", RFC 791"},
    {"10.0.0.0/8", "private-use, RFC 1918"},
    {"100.64.0.0/10", "shared address space (CGNAT), RFC 6598"},
    {"127.0.0.0/8", "loopback, RFC 1122"},
    {"169.254.0.0/16", "link-local, RFC 3927"},
    {"172.16.0.0/12", "private-use, RFC 1918"},
    {"192.0.0.0/24", "IETF protocol assignments, RFC 6890"},
    {"192.0.2.0/24", "documentation (TEST-NET-1), RFC 5737"},
    {"192.31.196.0/24", "AS112-v4, RFC 7535"},
    {"192.52.193.0/24", "AMT, RFC 7450"},
    {"192.88.99.0/24", "6to4 relay anycast (deprecated), RFC 7526"},
    {"192.168.0.0/16", "private-use, RFC 1918"},
    {"192.175.48.0/24", "direct delegation AS112, RFC 7534"},
    {"198.18.0.0/15", "benchmarking, RFC 2544"},
    {"198.51.100.0/24", "documentation (TEST-NET-2), RFC 5737"},
    {"203.0.113.0/24", "documentation (TEST-NET-3), RFC 5737"},
    {"224.0.0.0/4", "multicast, RFC 5771"},
    {"240.0.0.0/4", "reserved, RFC 1112 (includes broadcast 255.255.255.255)"},
};

// IANA IPv6 Special-Purpose Address Registry (RFC 6890 and updates). Ranges that embed an IPv4
// address are handled separately so the embedded address is judged too.
constexpr SpecialRange kIpv6Refused[] = {
    {"::/128", "unspecified, RFC 4291"},
    {"::1/128", "loopback, RFC 4291"},
    {"::ffff:0:0/96", "IPv4-mapped, RFC 4291"},
    {"::/96", "IPv4-compatible (deprecated), RFC 4291"},
    {"64:ff9b:1::/48", "local-use IPv4/IPv6 translation, RFC 8215"},
    {"100::/64", "discard-only, RFC 6666"},
    {"2001::/32", "Teredo, RFC 4380"},
    {"2001::/23", "IETF protocol assignments, RFC 2928"},
    {"2001:db8::/32", "documentation, RFC 3849"},
    {"2002::/16", "6to4, RFC 3056"},
    {"3fff::/20", "documentation, RFC 9637"},
    {"5f00::/16", "SRv6 SIDs, RFC 9602"},
    {"fc00::/7", "unique-local, RFC 4193"},
    {"fe80::/10", "link-local unicast, RFC 4291"},
    {"fec0::/10", "site-local (deprecated), RFC 3879"},
    {"ff00::/8", "multicast, RFC 4291"},
};

std::optional<std::string> MatchTable(const IpAddress& address, const SpecialRange* begin,
                                      const SpecialRange* end) {
  for (const SpecialRange* range = begin; range != end; ++range) {
    auto cidr = Cidr::Parse(range->cidr);
    if (cidr && cidr->Contains(address)) {
      return std::string(range->cidr) + " (" + std::string(range->name) + ")";
    }
  }
  return std::nullopt;
}

IpAddress EmbeddedV4(const IpAddress& v6, std::size_t offset, bool inverted = false) {
  std::array<std::uint8_t, 4> bytes{};
  for (std::size_t i = 0; i < 4; ++i) {
    bytes[i] = v6.bytes()[offset + i];
    if (inverted) bytes[i] = static_cast<std::uint8_t>(~bytes[i]);
  }
  return IpAddress::V4(bytes);
}

std::optional<std::string> RefusedV4(const IpAddress& v4) {
  return MatchTable(v4, std::begin(kIpv4Refused), std::end(kIpv4Refused));
}

/// Why an address is refused, or nothing when it may be contacted.
std::optional<std::string> RefusalReason(const IpAddress& address) {
  if (address.is_v4()) return RefusedV4(address);

  // Forms that carry an IPv4 address: name it, so a refusal explains itself.
  static const Cidr kMapped = *Cidr::Parse("::ffff:0:0/96");
  static const Cidr kCompatible = *Cidr::Parse("::/96");
  static const Cidr kNat64 = *Cidr::Parse("64:ff9b::/96");
  static const Cidr kTeredo = *Cidr::Parse("2001::/32");
  static const Cidr k6to4 = *Cidr::Parse("2002::/16");
  if (kMapped.Contains(address)) {
    return "::ffff:0:0/96 (IPv4-mapped; embeds " + EmbeddedV4(address, 12).ToString() + ")";
  }
  if (kCompatible.Contains(address) && !MatchTable(address, kIpv6Refused, kIpv6Refused + 2)) {
    return "::/96 (IPv4-compatible, deprecated; embeds " + EmbeddedV4(address, 12).ToString() + ")";
  }
  if (kNat64.Contains(address)) {
    // RFC 6052 well-known prefix: a public IPv4 behind NAT64 is a public target; a private one
    // is an internal target reached through the translator.
    IpAddress v4 = EmbeddedV4(address, 12);
    if (auto reason = RefusedV4(v4)) {
      return "64:ff9b::/96 (NAT64; embeds " + v4.ToString() + ", " + *reason + ")";
    }
    return std::nullopt;
  }
  if (kTeredo.Contains(address)) {
    return "2001::/32 (Teredo, RFC 4380; client " + EmbeddedV4(address, 12, true).ToString() + ")";
  }
  if (k6to4.Contains(address)) {
    return "2002::/16 (6to4, RFC 3056; embeds " + EmbeddedV4(address, 2).ToString() + ")";
  }
  if (auto reason = MatchTable(address, std::begin(kIpv6Refused), std::end(kIpv6Refused))) {
    return reason;
  }
  static const Cidr kGlobalUnicast = *Cidr::Parse("2000::/3");
  if (!kGlobalUnicast.Contains(address)) {
    return address.ToString() + " is outside global unicast 2000::/3 (RFC 4291)";
  }
  return std::nullopt;
}

}  // namespace

AddressPolicy::AddressPolicy(std::vector<Cidr> allowed) : allowed_(std::move(allowed)) {}

AddressVerdict AddressPolicy::Check(const IpAddress& address) const {
  for (const auto& cidr : allowed_) {
    if (cidr.Contains(address)) return {true, "exempted by " + cidr.ToString()};
  }
  if (auto reason = RefusalReason(address)) return {false, *reason};
  return {true, ""};
}

}  // namespace mtasts::net
