// What the command line's text output does to bytes from the network: nothing can reach the
// terminal as a control.
#include "agent/terminal_text.h"

#include <gtest/gtest.h>

#include <string>

namespace mtasts::agent {
namespace {

TEST(TerminalText, ControlsAreEscapedAndTextIsKept) {
  struct Case {
    std::string in;
    std::string out;
  };
  const Case cases[] = {
      {"v=STSv1; id=20240101T000000;", "v=STSv1; id=20240101T000000;"},
      {"", ""},
      // The attack of the review: erase the line, return, print a spoofed record.
      {"v=STSv1; id=\x1b[2K\rSTS record: v=STSv1; id=ok;",
       "v=STSv1; id=\\x1b[2K\\x0dSTS record: v=STSv1; id=ok;"},
      {"\x1b]0;owned\x07", "\\x1b]0;owned\\x07"},  // OSC: set the window title
      {std::string("a\0b", 3), "a\\x00b"},
      {"tab\there\nnewline", "tab\\x09here\\x0anewline"},
      {"del\x7f", "del\\x7f"},
      // Not UTF-8: each stray byte on its own (0x9B is CSI to an 8-bit terminal).
      {"\xff\xfe\x9b", "\\xff\\xfe\\x9b"},
      {"\xc0\xaf", "\\xc0\\xaf"},           // overlong "/"
      {"\xed\xa0\x80", "\\xed\\xa0\\x80"},  // a UTF-16 surrogate
      {"\xe2\x82", "\\xe2\\x82"},           // cut short
      // C1 controls written in UTF-8, and the Unicode controls that reorder or break lines.
      {"\xc2\x9b"
       "31m",
       "\\u009b31m"},
      {"\xc2\x85", "\\u0085"},
      {"abc\xe2\x80\xaeZYX", "abc\\u202eZYX"},  // RIGHT-TO-LEFT OVERRIDE
      {"\xe2\x81\xa6x\xe2\x81\xa9", "\\u2066x\\u2069"},
      {"a\xe2\x80\xa8"
       "b",
       "a\\u2028b"},
      // A backslash is escaped itself, so an escape in the output always means an escaped byte.
      {"\\x1b", "\\\\x1b"},
      // Ordinary UTF-8 is text.
      {"b\xc3\xbc"
       "cher.test \xe2\x82\xac \xf0\x9f\x93\xab",
       "b\xc3\xbc"
       "cher.test \xe2\x82\xac \xf0\x9f\x93\xab"},
      {"\xc2\xa0", "\xc2\xa0"},  // U+00A0, just past C1
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.out);
    EXPECT_EQ(TerminalSafe(c.in), c.out);
  }
}

TEST(TerminalText, NothingUnsafeSurvivesAnyByte) {
  // Every byte value alone and after a UTF-8 lead: the output holds no C0, DEL or C1 byte
  // except as part of a kept multi-byte character.
  for (int b = 0; b < 256; ++b) {
    for (const std::string prefix : {"", "\xc2", "\xe2\x80"}) {
      const std::string in = prefix + std::string(1, static_cast<char>(b));
      const std::string out = TerminalSafe(in);
      for (unsigned char c : out) {
        EXPECT_FALSE(c < 0x20 || c == 0x7f)
            << "byte " << b << " after a prefix of " << prefix.size();
      }
      EXPECT_EQ(out.find("\xc2\x9b"), std::string::npos);
    }
  }
}

TEST(TerminalText, PolicyBodiesKeepTheirLines) {
  EXPECT_EQ(TerminalSafeLines("version: STSv1\nmode: enforce\n"),
            "version: STSv1\nmode: enforce\n");
  EXPECT_EQ(TerminalSafeLines("version: STSv1\r\nmode: enforce\r\n"),
            "version: STSv1\nmode: enforce\n");
  // A bare CR would return to the line's start and overwrite it.
  EXPECT_EQ(TerminalSafeLines("mode: none\rmode: enforce\n"), "mode: none\\x0dmode: enforce\n");
  EXPECT_EQ(TerminalSafeLines("x: \x1b[31mred\n"), "x: \\x1b[31mred\n");
  EXPECT_EQ(TerminalSafeLines("trailing CR\r"), "trailing CR\\x0d");
}

}  // namespace
}  // namespace mtasts::agent
