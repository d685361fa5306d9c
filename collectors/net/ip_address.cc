#include "collectors/net/ip_address.h"

#include <arpa/inet.h>

#include <charconv>

namespace mtasts::net {
namespace {

/// Exactly four decimal parts 0-255, no leading zeros, no signs or spaces.
std::optional<std::array<std::uint8_t, 4>> ParseDottedQuad(std::string_view text) {
  std::array<std::uint8_t, 4> out{};
  std::size_t part = 0;
  std::size_t i = 0;
  while (part < 4) {
    std::size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    std::size_t len = i - start;
    if (len == 0 || len > 3 || (len > 1 && text[start] == '0')) return std::nullopt;
    unsigned value = 0;
    std::from_chars(text.data() + start, text.data() + i, value);
    if (value > 255) return std::nullopt;
    out[part++] = static_cast<std::uint8_t>(value);
    if (part < 4) {
      if (i >= text.size() || text[i] != '.') return std::nullopt;
      ++i;
    }
  }
  if (i != text.size()) return std::nullopt;
  return out;
}

}  // namespace

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
  if (auto v4 = ParseDottedQuad(text)) return V4(*v4);
  if (text.empty() || text.size() > 45 || text.find(':') == std::string_view::npos) {
    return std::nullopt;
  }
  for (char c : text) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
              c == ':' || c == '.';
    if (!ok) return std::nullopt;  // no zone ids, brackets or spaces
  }
  // An embedded IPv4 tail must itself be a strict dotted quad (inet_pton is lenient on zeros).
  if (auto dot = text.find('.'); dot != std::string_view::npos) {
    auto colon = text.rfind(':');
    if (!ParseDottedQuad(text.substr(colon + 1))) return std::nullopt;
  }
  std::string copy(text);
  std::array<std::uint8_t, 16> bytes{};
  if (inet_pton(AF_INET6, copy.c_str(), bytes.data()) != 1) return std::nullopt;
  return V6(bytes);
}

IpAddress IpAddress::V4(std::array<std::uint8_t, 4> bytes) {
  IpAddress a;
  a.v4_ = true;
  std::copy(bytes.begin(), bytes.end(), a.bytes_.begin());
  return a;
}

IpAddress IpAddress::V6(std::array<std::uint8_t, 16> bytes) {
  IpAddress a;
  a.v4_ = false;
  a.bytes_ = bytes;
  return a;
}

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN];
  // glibc's inet_ntop follows RFC 5952 (lower case, longest zero run compressed).
  inet_ntop(v4_ ? AF_INET : AF_INET6, bytes_.data(), buf, sizeof buf);
  return buf;
}

std::optional<Cidr> Cidr::Parse(std::string_view text) {
  auto slash = text.find('/');
  auto address = IpAddress::Parse(text.substr(0, slash));
  if (!address) return std::nullopt;
  const int max = address->is_v4() ? 32 : 128;
  int length = max;
  if (slash != std::string_view::npos) {
    std::string_view digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3 || (digits.size() > 1 && digits[0] == '0')) {
      return std::nullopt;
    }
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), length);
    if (ec != std::errc() || end != digits.data() + digits.size() || length < 0 || length > max) {
      return std::nullopt;
    }
  }
  Cidr cidr{*address, length};
  // Host bits beyond the prefix are refused: "10.0.0.1/8" is almost always a typo.
  const auto& bytes = address->bytes();
  for (int bit = length; bit < max; ++bit) {
    if ((bytes[static_cast<std::size_t>(bit / 8)] >> (7 - bit % 8)) & 1) return std::nullopt;
  }
  return cidr;
}

bool Cidr::Contains(const IpAddress& address) const {
  if (address.is_v4() != network.is_v4()) return false;
  const auto& a = address.bytes();
  const auto& n = network.bytes();
  int full = prefix_length / 8;
  for (int i = 0; i < full; ++i) {
    if (a[static_cast<std::size_t>(i)] != n[static_cast<std::size_t>(i)]) return false;
  }
  int rest = prefix_length % 8;
  if (rest == 0) return true;
  auto mask = static_cast<std::uint8_t>(0xFF << (8 - rest));
  return (a[static_cast<std::size_t>(full)] & mask) == (n[static_cast<std::size_t>(full)] & mask);
}

std::string Cidr::ToString() const {
  return network.ToString() + "/" + std::to_string(prefix_length);
}

}  // namespace mtasts::net
