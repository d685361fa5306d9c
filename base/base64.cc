#include "base/base64.h"

#include <cstdint>

namespace mtasts {

std::optional<std::string> Unbase64(std::string_view text) {
  // RFC 4648 §4: groups of four characters of the standard alphabet, the last group padded
  // with one or two "=" when it encodes fewer than three bytes. Nothing else is accepted.
  if (text.empty() || text.size() % 4 != 0) return std::nullopt;
  const std::size_t padding = text.ends_with("==") ? 2 : (text.ends_with('=') ? 1 : 0);
  const auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;  // "=" included: it is allowed only as the padding counted above
  };
  std::string out;
  out.reserve(text.size() / 4 * 3);
  std::uint32_t bits = 0;
  const std::size_t data = text.size() - padding;
  for (std::size_t i = 0; i < data; ++i) {
    const int v = value(text[i]);
    if (v < 0) return std::nullopt;
    bits = (bits << 6) | static_cast<std::uint32_t>(v);
    if (i % 4 == 3) {
      out += static_cast<char>((bits >> 16) & 0xFF);
      out += static_cast<char>((bits >> 8) & 0xFF);
      out += static_cast<char>(bits & 0xFF);
      bits = 0;
    }
  }
  // The padded last group: two characters carry one byte, three carry two.
  if (padding == 2) {
    out += static_cast<char>((bits >> 4) & 0xFF);
  } else if (padding == 1) {
    out += static_cast<char>((bits >> 10) & 0xFF);
    out += static_cast<char>((bits >> 2) & 0xFF);
  }
  return out;
}

}  // namespace mtasts
