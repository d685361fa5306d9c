#pragma once

#include <memory>

#include "base/result.h"
#include "collectors/check/domain_checker.h"
#include "collectors/check/network_settings.h"

namespace mtasts {

/// Builds a checker from network settings: the c-ares resolver, the trust store (loaded once),
/// the SSRF guard with its exemptions. Errors name the offending value (a bad CIDR, an
/// unreadable CA file, a malformed DNS server).
Result<std::unique_ptr<DomainChecker>> MakeChecker(const NetworkSettings& settings);

}  // namespace mtasts
