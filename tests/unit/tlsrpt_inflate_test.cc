// Bounded gzip inflation (collectors/tlsrpt/report/gzip_inflate.h): what it accepts, what it
// refuses, and a 10 GB gzip bomb costing no more than the cap.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "collectors/tlsrpt/report/gzip_inflate.h"
#include "tests/unit/tlsrpt_test_data.h"

namespace mtasts::tlsrpt {
namespace {

using mtasts::test::Gzip;
using mtasts::test::ZeroBomb;

constexpr std::size_t kMiB = std::size_t{1} << 20;

using mtasts::test::ResetPeakRss;
using mtasts::test::StatusKiB;

TEST(Gunzip, InflatesAndChecksTheTrailer) {
  const std::string text = "{\"organization-name\":\"x\"}";
  auto out = Gunzip(Gzip(text), kMiB);
  ASSERT_TRUE(out.has_value()) << out.error().message;
  EXPECT_EQ(out.value(), text);
  // Exactly at the cap is fine; one byte more is not.
  const std::string big(100'000, 'a');
  EXPECT_TRUE(Gunzip(Gzip(big), big.size()).has_value());
  auto over = Gunzip(Gzip(big), big.size() - 1);
  ASSERT_FALSE(over.has_value());
  EXPECT_EQ(over.error().kind, InflateFailure::kTooLarge);
}

TEST(Gunzip, ConcatenatedMembersAreOneStreamUnderOneCap) {
  const std::string a(70'000, 'a');
  const std::string b(70'000, 'b');
  auto out = Gunzip(Gzip(a) + Gzip(b), kMiB);
  ASSERT_TRUE(out.has_value()) << out.error().message;
  EXPECT_EQ(out.value(), a + b);
  auto over = Gunzip(Gzip(a) + Gzip(b), 100'000);
  ASSERT_FALSE(over.has_value());
  EXPECT_EQ(over.error().kind, InflateFailure::kTooLarge);
}

TEST(Gunzip, RefusesWhatIsNotWholeGzip) {
  const std::string good = Gzip(std::string(1000, 'x'));
  std::string bad_crc = good;
  bad_crc[bad_crc.size() - 8] ^= 1;
  std::string bad_length = good;
  bad_length[bad_length.size() - 1] ^= 1;
  std::string corrupt = good;
  corrupt[12] = static_cast<char>(0xff);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "empty body"},
      {"{\"a\":1}", "no gzip header"},
      {"\x1f", "no gzip header"},
      {good.substr(0, good.size() - 1), "truncated"},
      {good.substr(0, 12), "truncated"},
      {good + "garbage", "7 bytes after the gzip data"},
      {good + std::string(4, '\0'), "4 bytes after the gzip data"},
      {bad_crc, "incorrect data check"},
      {bad_length, "incorrect length check"},
      {corrupt, "broken gzip"},
      {Gzip("x").substr(0, 10), "truncated"},  // header only
  };
  for (const auto& [input, reason] : cases) {
    SCOPED_TRACE(reason);
    auto out = Gunzip(input, kMiB);
    ASSERT_FALSE(out.has_value());
    EXPECT_EQ(out.error().kind, InflateFailure::kBroken);
    EXPECT_NE(out.error().message.find(reason), std::string::npos) << out.error().message;
  }
  // zlib's own wrapper (RFC 1950) is not gzip.
  z_stream z{};
  ASSERT_EQ(deflateInit(&z, 6), Z_OK);
  std::string zlib(64, '\0');
  std::string in = "abc";
  z.next_in = reinterpret_cast<Bytef*>(in.data());
  z.avail_in = 3;
  z.next_out = reinterpret_cast<Bytef*>(zlib.data());
  z.avail_out = 64;
  ASSERT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  zlib.resize(z.total_out);
  deflateEnd(&z);
  EXPECT_FALSE(Gunzip(zlib, kMiB).has_value());
}

TEST(Gunzip, TheBombBuilderMakesValidGzip) {
  const std::string bomb = ZeroBomb(4);
  auto out = Gunzip(bomb, 4 * kMiB);
  ASSERT_TRUE(out.has_value()) << out.error().message;  // CRC and length check out
  EXPECT_EQ(out.value(), std::string(4 * kMiB, '\0'));
}

TEST(Gunzip, TenGigabyteBombStopsAtTheCapWithFlatMemory) {
  const std::string bomb = ZeroBomb(10240);  // 10 GiB of zeros
  ASSERT_LT(bomb.size(), 16 * kMiB);
  RecordProperty("bomb_bytes", std::to_string(bomb.size()));

  // A 1 MiB cap: the peak grows by about the cap, not by gigabytes.
  ResetPeakRss();
  std::int64_t before = StatusKiB("VmRSS");
  auto small = Gunzip(bomb, kMiB);
  std::int64_t growth = StatusKiB("VmHWM") - before;
  ASSERT_FALSE(small.has_value());
  EXPECT_EQ(small.error().kind, InflateFailure::kTooLarge);
  EXPECT_EQ(small.error().message, "inflates to more than 1048576 bytes");
  EXPECT_LT(growth, 4 * 1024) << "peak RSS grew by " << growth << " KiB";

  // The default 16 MiB cap: at most the cap and the doubling of its buffer (plus what the
  // sanitizers keep of freed blocks), nowhere near the 10 GiB the bomb inflates to.
  ResetPeakRss();
  before = StatusKiB("VmRSS");
  auto large = Gunzip(bomb, 16 * kMiB);
  growth = StatusKiB("VmHWM") - before;
  ASSERT_FALSE(large.has_value());
  EXPECT_EQ(large.error().kind, InflateFailure::kTooLarge);
  EXPECT_LT(growth, 52 * 1024) << "peak RSS grew by " << growth << " KiB";
  RecordProperty("peak_growth_kib_16mib_cap", std::to_string(growth));
}

}  // namespace
}  // namespace mtasts::tlsrpt
