#pragma once

#include <cstddef>
#include <string>

#include "base/result.h"

namespace mtasts {

/// Reads `fd` to its end, but at most `cap` + 1 bytes: one more than the cap tells a larger input
/// apart (also one that grew after its size was looked at) without buffering it. Retries EINTR;
/// another read error is the error, named by strerror.
Result<std::string> ReadCapped(int fd, std::size_t cap);

}  // namespace mtasts
