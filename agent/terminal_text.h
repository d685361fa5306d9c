#pragma once

#include <string>
#include <string_view>

namespace mtasts::agent {

/// Text from the network (TXT records, policy bodies, host names, error messages that quote
/// them) made safe to print on a terminal: every control character is written as an escape,
/// so a record cannot move the cursor, recolour, retitle or rewrite what is on screen.
/// C0 controls, DEL and bytes that are not UTF-8 become `\xHH` (ESC is `\x1b`); C1 controls
/// (U+0080-U+009F) and the Unicode controls that reorder or break lines (bidi overrides and
/// isolates, U+2028, U+2029) become `\uHHHH`; a backslash becomes `\\`, so an escape in the
/// output always means an escaped byte. Valid UTF-8 text is otherwise kept as it is.
std::string TerminalSafe(std::string_view text);

/// The same for a multi-line text (a policy body): its line ends, LF or CRLF, stay line ends;
/// a CR anywhere else is escaped.
std::string TerminalSafeLines(std::string_view text);

}  // namespace mtasts::agent
