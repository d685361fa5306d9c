// libFuzzer target: bounded gzip inflation (RFC 1952) on any byte sequence. The cap holds, and
// it is monotonic: what is too large under a cap is never accepted at or under that cap.
#include <cstddef>
#include <cstdint>

#include "collectors/tlsrpt/report/gzip_inflate.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  using namespace mtasts;
  using namespace mtasts::tlsrpt;
  constexpr std::size_t kCap = 64 * 1024;
  const auto input = fuzz::AsText(data, size);
  auto small = Gunzip(input, kCap);
  if (small) {
    fuzz::Require(small.value().size() <= kCap, "the cap holds");
    fuzz::Require(LooksLikeGzip(input), "only gzip inflates");
    // A larger cap gives the same bytes.
    auto large = Gunzip(input, 4 * kCap);
    fuzz::Require(large.has_value() && large.value() == small.value(), "caps agree");
    return 0;
  }
  fuzz::Require(!small.error().message.empty(), "a refusal says why");
  auto large = Gunzip(input, 4 * kCap);
  if (small.error().kind == InflateFailure::kTooLarge) {
    fuzz::Require(!large.has_value() || large.value().size() > kCap,
                  "too large under a cap means more than the cap");
  } else {
    // Broken before the cap was reached: broken under any larger cap too.
    fuzz::Require(!large.has_value() && large.error().kind == InflateFailure::kBroken,
                  "broken whatever the cap");
  }
  return 0;
}
