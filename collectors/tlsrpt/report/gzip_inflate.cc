#include "collectors/tlsrpt/report/gzip_inflate.h"

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <vector>

namespace mtasts::tlsrpt {
namespace {

constexpr std::size_t kStep = std::size_t{64} * 1024;

// zlib's stream, released on every path out.
class Inflater {
 public:
  Inflater() : ok_(inflateInit2(&z_, 15 + 16) == Z_OK) {}  // 15 + 16: gzip wrapper only
  ~Inflater() {
    if (ok_) inflateEnd(&z_);
  }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;
  bool Ready() const { return ok_; }
  z_stream& Stream() { return z_; }

 private:
  z_stream z_{};
  bool ok_;
};

InflateError Broken(std::string message) {
  return InflateError{InflateFailure::kBroken, "broken gzip: " + std::move(message)};
}

}  // namespace

bool LooksLikeGzip(std::string_view bytes) {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
         static_cast<unsigned char>(bytes[1]) == 0x8b;
}

Result<std::string, InflateError> Gunzip(std::string_view compressed, std::size_t max_output) {
  if (compressed.empty()) return Broken("empty body");
  if (!LooksLikeGzip(compressed)) return Broken("no gzip header");
  Inflater inflater;
  if (!inflater.Ready()) return Broken("zlib could not start (out of memory)");
  z_stream& z = inflater.Stream();
  // The input is capped far below 4 GiB before it gets here; slices keep zlib's uInt honest.
  const auto* next = reinterpret_cast<const unsigned char*>(compressed.data());
  std::size_t left = compressed.size();
  const auto feed = [&]() {
    if (z.avail_in != 0 || left == 0) return;
    const std::size_t slice = std::min<std::size_t>(left, UINT_MAX);
    z.next_in = const_cast<unsigned char*>(next);  // NOLINT: zlib's API is not const-correct
    z.avail_in = static_cast<uInt>(slice);
    next += slice;
    left -= slice;
  };
  std::string out;
  std::vector<unsigned char> buffer(kStep);
  for (;;) {
    feed();
    z.next_out = buffer.data();
    z.avail_out = static_cast<uInt>(buffer.size());
    const int status = inflate(&z, Z_NO_FLUSH);
    const std::size_t produced = buffer.size() - z.avail_out;
    if (produced > max_output - out.size()) {
      return InflateError{InflateFailure::kTooLarge,
                          "inflates to more than " + std::to_string(max_output) + " bytes"};
    }
    if (out.size() + produced > out.capacity()) {
      // Grow by doubling, but never past the cap: the cap is the most this call allocates.
      out.reserve(std::min(std::max(out.capacity() * 2, out.size() + produced), max_output));
    }
    out.append(reinterpret_cast<const char*>(buffer.data()), produced);
    switch (status) {
      case Z_OK: continue;
      case Z_BUF_ERROR:
        // No progress possible: with output room to spare, the input has run out.
        if (z.avail_in == 0 && left == 0) return Broken("truncated");
        continue;
      case Z_STREAM_END: {
        feed();
        if (z.avail_in == 0) return out;
        // RFC 1952 §2.2: a gzip file is a series of members.
        const std::string_view rest(reinterpret_cast<const char*>(z.next_in), z.avail_in);
        if (!LooksLikeGzip(rest)) {
          return Broken(std::to_string(z.avail_in + left) + " bytes after the gzip data");
        }
        if (inflateReset(&z) != Z_OK) return Broken("zlib could not restart");
        continue;
      }
      case Z_DATA_ERROR: return Broken(z.msg != nullptr ? z.msg : "corrupt data");
      case Z_MEM_ERROR: return Broken("out of memory");
      default: return Broken("zlib status " + std::to_string(status));
    }
  }
}

}  // namespace mtasts::tlsrpt
