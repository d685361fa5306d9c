#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mtasts::net {

/// An IPv4 or IPv6 address. IPv4 is kept as itself (not mapped) so that ranges are explicit.
class IpAddress {
 public:
  /// Strict parsing of the forms a DNS answer or a config gives: dotted-quad IPv4 (exactly four
  /// decimal parts, no leading zeros) or RFC 4291 IPv6 text (no zone id, no brackets).
  static std::optional<IpAddress> Parse(std::string_view text);
  static IpAddress V4(std::array<std::uint8_t, 4> bytes);
  static IpAddress V6(std::array<std::uint8_t, 16> bytes);

  bool is_v4() const { return v4_; }
  /// 4 meaningful bytes for IPv4, 16 for IPv6.
  const std::array<std::uint8_t, 16>& bytes() const { return bytes_; }
  std::string ToString() const;  // canonical text (RFC 5952 for IPv6)

  friend bool operator==(const IpAddress&, const IpAddress&) = default;

 private:
  bool v4_ = true;
  std::array<std::uint8_t, 16> bytes_{};
};

/// An address range, e.g. 10.0.0.0/8 or 2001:db8::/32.
struct Cidr {
  IpAddress network;
  int prefix_length = 0;

  /// "ADDR/LEN" or a bare address (a host route). Host bits set beyond the prefix are refused.
  static std::optional<Cidr> Parse(std::string_view text);
  /// Same family and within the range.
  bool Contains(const IpAddress& address) const;
  std::string ToString() const;
};

}  // namespace mtasts::net
