#include "base/read_capped.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace mtasts {

Result<std::string> ReadCapped(int fd, std::size_t cap) {
  std::string out;
  std::string chunk(std::size_t{64} * 1024, '\0');
  while (out.size() <= cap) {
    const std::size_t want = std::min(chunk.size(), cap + 1 - out.size());
    const ssize_t got = read(fd, chunk.data(), want);
    if (got < 0) {
      if (errno == EINTR) continue;
      return Error{std::strerror(errno)};
    }
    if (got == 0) break;
    out.append(chunk.data(), static_cast<std::size_t>(got));
  }
  return out;
}

}  // namespace mtasts
