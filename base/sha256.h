#pragma once

#include <string>
#include <string_view>

namespace mtasts {

/// SHA-256 of `data` as 64 lowercase hex digits (OpenSSL's EVP digest).
std::string Sha256Hex(std::string_view data);

}  // namespace mtasts
