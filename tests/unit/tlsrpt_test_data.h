#pragma once
// What the TLS-RPT unit tests share: their sample files and a gzip of any bytes.
#include <gtest/gtest.h>
#include <zlib.h>

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

}  // namespace mtasts::test
