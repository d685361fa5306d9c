// libFuzzer target: the domain-name validator behind every user-given domain (CLI, config,
// API). An accepted name is in DNS form and normalising it again changes nothing.
#include <cstddef>
#include <cstdint>

#include "base/domain_name.h"
#include "collectors/net/ip_address.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  using namespace mtasts;
  auto domain = NormalizeDomain(fuzz::AsText(data, size));
  if (!domain) {
    fuzz::Require(!domain.error().message.empty(), "a refusal says why");
    return 0;
  }
  const std::string& name = domain.value();
  fuzz::Require(!name.empty() && name.size() <= 253, "1-253 octets", name);
  fuzz::Require(name.back() != '.', "no trailing dot", name);
  fuzz::Require(name.find('.') != std::string::npos, "more than one label", name);
  for (unsigned char c : name) {
    const bool ldh = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
    fuzz::Require(ldh, "lower-case LDH only", name);
  }
  fuzz::Require(!net::IpAddress::Parse(name).has_value(), "never an IP literal", name);
  auto again = NormalizeDomain(name);
  fuzz::Require(again.has_value() && again.value() == name, "idempotent", name);
  return 0;
}
