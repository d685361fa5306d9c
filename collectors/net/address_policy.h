#pragma once

#include <string>
#include <vector>

#include "collectors/net/ip_address.h"

namespace mtasts::net {

/// The SSRF guard's verdict on one address.
struct AddressVerdict {
  bool allowed = false;
  /// For refusals: the range and its name, "10.0.0.0/8 (private-use, RFC 1918)", plus the
  /// embedded IPv4 address where there is one. For an address exempted by the allow list:
  /// "allow-listed (RANGE)". Otherwise empty.
  std::string reason;
};

/// The SSRF guard: which addresses the exporter may connect to. Every address in a special-use
/// range is refused (IANA IPv4/IPv6 special-purpose registries: private, loopback, link-local,
/// CGNAT, multicast, reserved, documentation, benchmarking, unspecified, broadcast, ...), and
/// addresses that embed an IPv4 address (IPv4-mapped, IPv4-compatible, NAT64 64:ff9b::/96 and
/// 64:ff9b:1::/48, 6to4 2002::/16, Teredo 2001::/32) are judged by the embedded IPv4 as well.
/// An address inside an allow-listed range is allowed whatever else it is; the allow list is
/// matched against the address as given (an IPv6 address is not exempted by an IPv4 range
/// covering what it embeds). NAT64 64:ff9b::/96 and 6to4 addresses are allowed when the IPv4
/// they embed is public; IPv4-mapped, IPv4-compatible, Teredo and 64:ff9b:1::/48 never are.
/// Pure computation, no I/O. Thread-safe (const).
class AddressPolicy {
 public:
  explicit AddressPolicy(std::vector<Cidr> allowed = {});

  AddressVerdict Check(const IpAddress& address) const;

 private:
  std::vector<Cidr> allowed_;
};

}  // namespace mtasts::net
