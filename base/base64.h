#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mtasts {

/// Strict RFC 4648 base64 (standard alphabet, padded to a multiple of 4 characters); nothing for
/// anything else: bad characters, a bad length, padding that is not one or two final "=".
std::optional<std::string> Unbase64(std::string_view text);

}  // namespace mtasts
