#pragma once

#include <string>
#include <utility>
#include <vector>

namespace mtasts {

/// Unknown key/value pairs kept from a record or policy (RFC 8461 §3.2: accepted, ignored).
using Extensions = std::vector<std::pair<std::string, std::string>>;

/// How a TXT record of a kind (STS, TLS-RPT) was found among the answers of one name.
enum class RecordStatus {
  kMissing,  // no record of this kind: absent
  kInvalid,  // several records of this kind, or the one there does not parse
  kValid,    // exactly one, and it parses
};

}  // namespace mtasts
