#include "collectors/net/ip_address.h"

#include <cstddef>
#include <cstdint>

namespace mtasts::net {
namespace {

constexpr std::size_t kV4Bytes = 4;
constexpr std::size_t kV6Groups = 8;
constexpr int kV4Bits = 32;
constexpr int kV6Bits = 128;

using V4Bytes = std::array<std::uint8_t, kV4Bytes>;
using Groups = std::array<std::uint16_t, kV6Groups>;

bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Exactly four decimal parts 0-255. A leading zero is refused: inet_aton reads "010" as octal 8,
// so the same text would name two different hosts depending on who parses it.
std::optional<V4Bytes> ParseDottedQuad(std::string_view text) {
  V4Bytes out{};
  std::size_t part = 0;
  std::size_t i = 0;
  while (true) {
    if (part == kV4Bytes) return std::nullopt;  // a fifth part
    const std::size_t start = i;
    while (i < text.size() && IsDigit(text[i])) {
      if (i - start == 3) return std::nullopt;  // more than three digits
      ++i;
    }
    const std::size_t length = i - start;
    if (length == 0 || (length > 1 && text[start] == '0')) return std::nullopt;
    int value = 0;
    for (std::size_t k = start; k < i; ++k) value = value * 10 + (text[k] - '0');
    if (value > 255) return std::nullopt;
    out[part++] = static_cast<std::uint8_t>(value);
    if (i == text.size()) break;
    if (text[i] != '.') return std::nullopt;
    ++i;
  }
  if (part != kV4Bytes) return std::nullopt;
  return out;
}

// Appends the 16-bit groups of a ':'-separated run (one side of "::", or a whole address
// without "::"). RFC 4291 §2.2: each group is 1-4 hex digits; the last 32 bits may be written
// as a dotted quad, but only at the very end of the address (allow_v4_tail).
bool ParseGroups(std::string_view text, bool allow_v4_tail, Groups& groups, std::size_t& count) {
  if (text.empty()) return true;
  std::size_t pos = 0;
  while (true) {
    const std::size_t colon = text.find(':', pos);
    const std::string_view field =
        text.substr(pos, colon == std::string_view::npos ? std::string_view::npos : colon - pos);
    if (field.find('.') != std::string_view::npos) {
      if (!allow_v4_tail || colon != std::string_view::npos) return false;
      const std::optional<V4Bytes> quad = ParseDottedQuad(field);
      if (!quad || count + 2 > kV6Groups) return false;
      groups[count++] = static_cast<std::uint16_t>(((*quad)[0] << 8) | (*quad)[1]);
      groups[count++] = static_cast<std::uint16_t>(((*quad)[2] << 8) | (*quad)[3]);
      return true;
    }
    if (field.empty() || field.size() > 4 || count == kV6Groups) return false;
    int value = 0;
    for (char c : field) {
      const int digit = HexValue(c);
      if (digit < 0) return false;
      value = value * 16 + digit;
    }
    groups[count++] = static_cast<std::uint16_t>(value);
    if (colon == std::string_view::npos) return true;
    pos = colon + 1;
  }
}

std::optional<std::array<std::uint8_t, 16>> ParseV6(std::string_view text) {
  Groups groups{};
  const std::size_t gap = text.find("::");
  if (gap == std::string_view::npos) {
    std::size_t count = 0;
    if (!ParseGroups(text, /*allow_v4_tail=*/true, groups, count) || count != kV6Groups) {
      return std::nullopt;
    }
  } else {
    // At most one "::" (RFC 4291 §2.2), and it stands for at least one zero group.
    if (text.find("::", gap + 1) != std::string_view::npos) return std::nullopt;
    Groups head{};
    Groups tail{};
    std::size_t head_count = 0;
    std::size_t tail_count = 0;
    if (!ParseGroups(text.substr(0, gap), /*allow_v4_tail=*/false, head, head_count) ||
        !ParseGroups(text.substr(gap + 2), /*allow_v4_tail=*/true, tail, tail_count) ||
        head_count + tail_count > kV6Groups - 1) {
      return std::nullopt;
    }
    for (std::size_t i = 0; i < head_count; ++i) groups[i] = head[i];
    for (std::size_t i = 0; i < tail_count; ++i) {
      groups[kV6Groups - tail_count + i] = tail[i];
    }
  }
  std::array<std::uint8_t, 16> bytes{};
  for (std::size_t i = 0; i < kV6Groups; ++i) {
    bytes[2 * i] = static_cast<std::uint8_t>(groups[i] >> 8);
    bytes[2 * i + 1] = static_cast<std::uint8_t>(groups[i] & 0xff);
  }
  return bytes;
}

void AppendDottedQuad(std::string& out, std::uint8_t a, std::uint8_t b, std::uint8_t c,
                      std::uint8_t d) {
  out += std::to_string(a);
  out += '.';
  out += std::to_string(b);
  out += '.';
  out += std::to_string(c);
  out += '.';
  out += std::to_string(d);
}

void AppendHexGroup(std::string& out, std::uint16_t group) {
  static constexpr char kHex[] = "0123456789abcdef";
  bool started = false;
  for (int shift = 12; shift >= 0; shift -= 4) {
    const int nibble = (group >> shift) & 0xf;
    if (nibble != 0 || started || shift == 0) {
      out += kHex[nibble];
      started = true;
    }
  }
}

// True when the first prefix_length bits of a and b agree.
bool SamePrefix(const std::array<std::uint8_t, 16>& a, const std::array<std::uint8_t, 16>& b,
                int prefix_length) {
  const int full_bytes = prefix_length / 8;
  for (int i = 0; i < full_bytes; ++i) {
    if (a[i] != b[i]) return false;
  }
  const int rest = prefix_length % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (a[full_bytes] & mask) == (b[full_bytes] & mask);
}

}  // namespace

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
  if (text.find(':') != std::string_view::npos) {
    const auto bytes = ParseV6(text);
    if (!bytes) return std::nullopt;
    return V6(*bytes);
  }
  const auto quad = ParseDottedQuad(text);
  if (!quad) return std::nullopt;
  return V4(*quad);
}

IpAddress IpAddress::V4(std::array<std::uint8_t, 4> bytes) {
  IpAddress address;
  address.v4_ = true;
  for (std::size_t i = 0; i < kV4Bytes; ++i) address.bytes_[i] = bytes[i];
  return address;
}

IpAddress IpAddress::V6(std::array<std::uint8_t, 16> bytes) {
  IpAddress address;
  address.v4_ = false;
  address.bytes_ = bytes;
  return address;
}

std::string IpAddress::ToString() const {
  std::string out;
  const auto& b = bytes_;
  if (v4_) {
    AppendDottedQuad(out, b[0], b[1], b[2], b[3]);
    return out;
  }
  // RFC 5952 §5: an IPv4-mapped address is written ::ffff:a.b.c.d.
  bool mapped = b[10] == 0xff && b[11] == 0xff;
  for (int i = 0; i < 10 && mapped; ++i) mapped = b[i] == 0;
  if (mapped) {
    out = "::ffff:";
    AppendDottedQuad(out, b[12], b[13], b[14], b[15]);
    return out;
  }
  Groups groups{};
  for (std::size_t i = 0; i < kV6Groups; ++i) {
    groups[i] = static_cast<std::uint16_t>((b[2 * i] << 8) | b[2 * i + 1]);
  }
  // RFC 5952 §4.2: compress the longest run of two or more zero groups, the first on a tie.
  int best_start = -1;
  int best_length = 1;
  for (int i = 0; i < static_cast<int>(kV6Groups);) {
    if (groups[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < static_cast<int>(kV6Groups) && groups[j] == 0) ++j;
    if (j - i > best_length) {
      best_start = i;
      best_length = j - i;
    }
    i = j;
  }
  for (int i = 0; i < static_cast<int>(kV6Groups); ++i) {
    if (i == best_start) {
      out += "::";
      i += best_length - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out += ':';
    AppendHexGroup(out, groups[i]);
  }
  return out;
}

std::optional<Cidr> Cidr::Parse(std::string_view text) {
  const std::size_t slash = text.find('/');
  const auto address = IpAddress::Parse(text.substr(0, slash));
  if (!address) return std::nullopt;
  const int max_length = address->is_v4() ? kV4Bits : kV6Bits;
  int prefix_length = max_length;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    // Decimal, no sign, no leading zero ("/08" is a typo we should not guess about).
    if (digits.empty() || digits.size() > 3 || (digits.size() > 1 && digits[0] == '0')) {
      return std::nullopt;
    }
    prefix_length = 0;
    for (char c : digits) {
      if (!IsDigit(c)) return std::nullopt;
      prefix_length = prefix_length * 10 + (c - '0');
    }
    if (prefix_length > max_length) return std::nullopt;
  }
  // Host bits set beyond the prefix ("10.1.2.3/8") usually mean a mistyped range: refuse
  // rather than silently widen or narrow what the operator meant.
  const auto& bytes = address->bytes();
  for (int bit = prefix_length; bit < max_length; ++bit) {
    if ((bytes[bit / 8] >> (7 - bit % 8)) & 1) return std::nullopt;
  }
  return Cidr{*address, prefix_length};
}

bool Cidr::Contains(const IpAddress& address) const {
  if (address.is_v4() != network.is_v4()) return false;
  return SamePrefix(network.bytes(), address.bytes(), prefix_length);
}

std::string Cidr::ToString() const {
  return network.ToString() + "/" + std::to_string(prefix_length);
}

}  // namespace mtasts::net
