#pragma once
// What the TLS-RPT unit tests share: their sample files, a gzip of any bytes, a gzip bomb and
// the process's resident memory.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

namespace mtasts::test {

/// The bytes of tests/testdata/tlsrpt/NAME (a test fails when it is missing).
inline std::string ReadTlsRptTestData(const std::string& name) {
  std::ifstream in(std::string(MTASTS_TESTDATA_DIR) + "/tlsrpt/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

/// `data` as one gzip member (RFC 1952), at zlib's `level`.
inline std::string Gzip(std::string_view data, int level = Z_DEFAULT_COMPRESSION) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, data.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

inline constexpr std::size_t kBombMiB = std::size_t{1} << 20;

// A valid gzip file of `chunks` MiB of zeros, built without compressing them all: after a full
// flush deflate starts afresh, so every further MiB of zeros compresses to the same bytes, which
// are repeated; the trailer's CRC-32 and length are combined arithmetically. 10240 chunks (10 GiB)
// make about 10 MB.
inline std::string ZeroBomb(std::uint64_t chunks) {
  const std::string zeros(kBombMiB, '\0');
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY), Z_OK);
  const auto run = [&](std::string_view in, int flush) {
    std::string out(kBombMiB, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    EXPECT_NE(deflate(&z, flush), Z_STREAM_ERROR);
    EXPECT_EQ(z.avail_in, 0U);
    out.resize(out.size() - z.avail_out);
    return out;
  };
  const std::string first = run(zeros, Z_FULL_FLUSH);  // the gzip header and the first MiB
  const std::string block = run(zeros, Z_FULL_FLUSH);
  EXPECT_EQ(run(zeros, Z_FULL_FLUSH), block);  // the repetition is exact
  std::string end = run({}, Z_FINISH);
  deflateEnd(&z);
  end.resize(end.size() - 8);  // the trailer for 3 MiB; ours follows
  std::string bomb = first;
  bomb.reserve(first.size() + block.size() * chunks + end.size() + 8);
  for (std::uint64_t i = 1; i < chunks; ++i) bomb += block;
  bomb += end;
  const uLong chunk_crc = crc32(0, reinterpret_cast<const Bytef*>(zeros.data()), kBombMiB);
  uLong crc = chunk_crc;
  for (std::uint64_t i = 1; i < chunks; ++i) crc = crc32_combine(crc, chunk_crc, kBombMiB);
  const std::uint64_t length = chunks * kBombMiB;
  for (int i = 0; i < 4; ++i) bomb += static_cast<char>((crc >> (8 * i)) & 0xff);
  for (int i = 0; i < 4; ++i) bomb += static_cast<char>((length >> (8 * i)) & 0xff);
  return bomb;
}

/// A field of /proc/self/status in KiB (VmRSS, VmHWM), -1 when missing.
inline std::int64_t StatusKiB(const char* field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field, 0) == 0) return std::stoll(line.substr(line.find(':') + 1));
  }
  return -1;
}

/// Resets the peak RSS (VmHWM) to the current RSS (Linux >= 4.0).
inline void ResetPeakRss() {
  std::ofstream("/proc/self/clear_refs") << "5";
}

}  // namespace mtasts::test
