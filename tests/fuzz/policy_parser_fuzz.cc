// libFuzzer target: the policy file parser (RFC 8461 §3.2) on any byte sequence.
#include <cstddef>
#include <cstdint>

#include "collectors/policy/policy_parser.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  using namespace mtasts;
  auto parsed = policy::ParsePolicy(fuzz::AsText(data, size));
  if (!parsed) {
    fuzz::Require(!parsed.error().message.empty(), "a refusal says why");
    return 0;
  }
  const policy::Policy& p = parsed.value();
  fuzz::Require(p.version == "STSv1", "version is STSv1", p.version);
  fuzz::Require(p.max_age <= policy::kMaxMaxAge, "max_age within one year");
  fuzz::Require(p.mode == policy::Mode::kNone || !p.mx.empty(), "mx required unless mode none");
  for (const auto& mx : p.mx) fuzz::Require(!mx.empty(), "no empty mx pattern");
  return 0;
}
