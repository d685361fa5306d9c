// libFuzzer target: the strict IP address and CIDR parsers the SSRF guard relies on, and the
// guard's verdict on whatever parses. Printing and parsing again gives the same address.
#include <cstddef>
#include <cstdint>

#include "collectors/net/address_policy.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  using namespace mtasts;
  const auto text = fuzz::AsText(data, size);
  if (auto address = net::IpAddress::Parse(text)) {
    const std::string printed = address->ToString();
    auto again = net::IpAddress::Parse(printed);
    fuzz::Require(again.has_value() && *again == *address, "ToString round-trips", printed);
    static const net::AddressPolicy kGuard;
    const auto verdict = kGuard.Check(*address);
    fuzz::Require(verdict.allowed == verdict.reason.empty(), "a refusal has a reason", printed);
  }
  if (auto cidr = net::Cidr::Parse(text)) {
    fuzz::Require(cidr->Contains(cidr->network), "a range holds its network address");
    auto again = net::Cidr::Parse(cidr->ToString());
    fuzz::Require(again.has_value() && again->ToString() == cidr->ToString(), "CIDR round-trips");
  }
  return 0;
}
