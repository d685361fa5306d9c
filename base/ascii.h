#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>

/// ASCII case folding. DNS names (RFC 4343), RFC 8461/8460 keywords and MIME types compare
/// case-insensitively in ASCII only: other bytes compare exactly, whatever the locale.
namespace mtasts {

constexpr char AsciiLower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

inline std::string AsciiLowered(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), AsciiLower);
  return out;
}

inline bool EqualsIgnoreAsciiCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

}  // namespace mtasts
