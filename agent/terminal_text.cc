#include "agent/terminal_text.h"

#include <cstdint>
#include <cstdio>

namespace mtasts::agent {
namespace {

void AppendHexByte(std::string& out, unsigned char byte) {
  char buf[5];
  std::snprintf(buf, sizeof buf, "\\x%02x", byte);
  out += buf;
}

void AppendCodePoint(std::string& out, std::uint32_t code_point) {
  char buf[12];  // room for any 32-bit value: at -O1 and above GCC checks the bound against it
  std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(code_point));
  out += buf;
}

/// The length of the well-formed UTF-8 sequence at `text[i]` (RFC 3629: no overlongs, no
/// surrogates, nothing above U+10FFFF) and its code point; 0 when there is none.
std::size_t DecodeUtf8(std::string_view text, std::size_t i, std::uint32_t& code_point) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[i + k]); };
  const auto tail = [&](std::size_t k) { return i + k < text.size() && (byte(k) & 0xC0) == 0x80; };
  const unsigned char lead = byte(0);
  if (lead >= 0xC2 && lead <= 0xDF && tail(1)) {
    code_point = ((lead & 0x1FU) << 6) | (byte(1) & 0x3FU);
    return 2;
  }
  if (lead >= 0xE0 && lead <= 0xEF && tail(1) && tail(2)) {
    code_point = ((lead & 0x0FU) << 12) | ((byte(1) & 0x3FU) << 6) | (byte(2) & 0x3FU);
    if (code_point < 0x800 || (code_point >= 0xD800 && code_point <= 0xDFFF)) return 0;
    return 3;
  }
  if (lead >= 0xF0 && lead <= 0xF4 && tail(1) && tail(2) && tail(3)) {
    code_point = ((lead & 0x07U) << 18) | ((byte(1) & 0x3FU) << 12) | ((byte(2) & 0x3FU) << 6) |
                 (byte(3) & 0x3FU);
    if (code_point < 0x10000 || code_point > 0x10FFFF) return 0;
    return 4;
  }
  return 0;
}

/// Code points that are controls on a terminal, or that reorder or break the line around them.
bool IsUnsafeCodePoint(std::uint32_t cp) {
  return (cp >= 0x80 && cp <= 0x9F) ||      // C1: CSI (U+009B), OSC (U+009D), ...
         cp == 0x061C ||                    // ARABIC LETTER MARK
         (cp >= 0x200E && cp <= 0x200F) ||  // LRM, RLM
         (cp >= 0x2028 && cp <= 0x202E) ||  // LINE/PARAGRAPH SEPARATOR, bidi embeddings/overrides
         (cp >= 0x2066 && cp <= 0x2069);    // bidi isolates
}

std::string Escape(std::string_view text, bool keep_line_ends) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n' && keep_line_ends) {
      out += '\n';
      ++i;
    } else if (c == '\r' && keep_line_ends && i + 1 < text.size() && text[i + 1] == '\n') {
      out += '\n';  // CRLF is a line end too
      i += 2;
    } else if (c == '\\') {
      out += "\\\\";
      ++i;
    } else if (c < 0x20 || c == 0x7F) {
      AppendHexByte(out, c);  // C0 (ESC, CR, BEL, ...) and DEL
      ++i;
    } else if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
    } else {
      std::uint32_t code_point = 0;
      const std::size_t length = DecodeUtf8(text, i, code_point);
      if (length == 0) {
        AppendHexByte(out, c);  // not UTF-8: a raw 0x9B would be CSI to an 8-bit terminal
        ++i;
      } else if (IsUnsafeCodePoint(code_point)) {
        AppendCodePoint(out, code_point);
        i += length;
      } else {
        out.append(text.substr(i, length));
        i += length;
      }
    }
  }
  return out;
}

}  // namespace

std::string TerminalSafe(std::string_view text) {
  return Escape(text, false);
}

std::string TerminalSafeLines(std::string_view text) {
  return Escape(text, true);
}

}  // namespace mtasts::agent
