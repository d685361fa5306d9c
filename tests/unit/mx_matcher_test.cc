#include "collectors/mx/mx_matcher.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace mtasts::mx {
namespace {

struct MatchCase {
  std::string pattern;
  std::string host;
  bool matches;
};

TEST(MxPatternMatches, FollowsRfc8461Section41) {
  const std::vector<MatchCase> cases = {
      // Literal patterns match only the same name.
      {"mail.example.com", "mail.example.com", true},
      {"mail.example.com", "mail2.example.com", false},
      {"mail.example.com", "example.com", false},
      {"mail.example.com", "a.mail.example.com", false},
      {"mail.example.com", "mail.example.co", false},
      {"localhost", "localhost", true},
      // RFC 6125 §6.4.1: ASCII case-insensitive, both sides.
      {"MAIL.Example.COM", "mail.example.com", true},
      {"mail.example.com", "Mail.EXAMPLE.com", true},
      {"*.EXAMPLE.com", "MX1.example.COM", true},
      // Non-ASCII bytes are compared exactly (IDNs are A-labels, RFC 8461 §3.2).
      {"xn--bcher-kva.example", "XN--BCHER-KVA.example", true},
      {"\xC3\xA9.example", "\xC3\x89.example", false},
      // A trailing dot on either side is ignored; two are not a name.
      {"mail.example.com.", "mail.example.com", true},
      {"mail.example.com", "mail.example.com.", true},
      {"mail.example.com.", "mail.example.com.", true},
      {"*.example.com.", "mx.example.com", true},
      {"*.example.com", "mx.example.com.", true},
      {"mail.example.com..", "mail.example.com", false},
      {"mail.example.com", "mail.example.com..", false},
      // A "*." pattern matches exactly one whole, non-empty left-most label.
      {"*.example.com", "mx1.example.com", true},
      {"*.example.com", "a.example.com", true},
      {"*.example.com", "example.com", false},
      {"*.example.com", "a.b.example.com", false},
      {"*.example.com", ".example.com", false},
      {"*.example.com", "mx1.example.org", false},
      {"*.example.com", "mx1.notexample.com", false},
      {"*.example.com", "mx1example.com", false},
      {"*.com", "example.com", true},
      {"*.com", "a.example.com", false},
      // No other wildcard form matches anything, not even a host spelled the same way.
      {"*", "example", false},
      {"*", "*", false},
      {"*.", "a.", false},
      {"*.", "a", false},
      {"mx*.example.com", "mx1.example.com", false},
      {"mx*.example.com", "mx*.example.com", false},
      {"*mx.example.com", "amx.example.com", false},
      {"*.*.example.com", "a.b.example.com", false},
      {"a.*.example.com", "a.b.example.com", false},
      {"*example.com", "a.example.com", false},
      {"**.example.com", "a.example.com", false},
      {"*.example.*", "a.example.com", false},
      // Wildcards in the host are not names.
      {"*.example.com", "*.example.com", false},
      {"mail.example.com", "*", false},
      // Empty names and empty labels match nothing.
      {"", "", false},
      {"", "mail.example.com", false},
      {"mail.example.com", "", false},
      {"*.example.com", "", false},
      {".", ".", false},
      {"mail.example.com", ".", false},
      {"a..example.com", "a..example.com", false},
      {"*..example.com", "a..example.com", false},
      {".example.com", ".example.com", false},
      {"*.example.com", "a..example.com", false},
  };
  for (const MatchCase& c : cases) {
    SCOPED_TRACE("pattern=\"" + c.pattern + "\" host=\"" + c.host + "\"");
    EXPECT_EQ(MxPatternMatches(c.pattern, c.host), c.matches);
  }
}

TEST(UncoveredHosts, KeepsInputOrderOfUnmatchedHosts) {
  const std::vector<std::string> patterns = {"mx1.example.com", "*.example.net"};
  const std::vector<std::string> hosts = {"mx2.example.com", "mx1.example.com.", "a.example.net",
                                          "example.net",     "a.b.example.net",  "MX1.EXAMPLE.COM"};
  EXPECT_EQ(UncoveredHosts(patterns, hosts),
            (std::vector<std::string>{"mx2.example.com", "example.net", "a.b.example.net"}));
  EXPECT_EQ(UncoveredHosts({}, {"a.example.com"}), (std::vector<std::string>{"a.example.com"}));
  EXPECT_TRUE(UncoveredHosts(patterns, {}).empty());
}

TEST(MxPatternMatches, RandomInputsAreTotalAndDeterministic) {
  std::mt19937 rng(8461);
  constexpr char kAlphabet[] = "aAzZ09-.*_\0\x80\xff";
  const std::string alphabet(kAlphabet, sizeof(kAlphabet) - 1);  // keeps the NUL
  auto random_name = [&] {
    std::string s;
    std::size_t n = rng() % 12;
    for (std::size_t i = 0; i < n; ++i) s.push_back(alphabet[rng() % alphabet.size()]);
    return s;
  };
  for (int i = 0; i < 20000; ++i) {
    std::string pattern = random_name();
    std::string host = random_name();
    bool first = MxPatternMatches(pattern, host);
    EXPECT_EQ(first, MxPatternMatches(pattern, host));
    if (first) {
      // Whatever matches is a name without "*" or empty labels.
      std::string_view h = host;
      if (!h.empty() && h.back() == '.') h.remove_suffix(1);
      EXPECT_EQ(h.find('*'), std::string_view::npos) << host;
      EXPECT_EQ(h.find(".."), std::string_view::npos) << host;
      EXPECT_FALSE(h.empty());
    }
  }
}

}  // namespace
}  // namespace mtasts::mx
