#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"

namespace mtasts::agent {

enum class LogLevel { kDebug, kInfo, kWarn, kError };
using LogFields = std::vector<std::pair<std::string, std::string>>;

/// Sets up the process logger (stderr, spdlog). `level`: debug|info|warn|error; `format`:
/// logfmt|json. Errors name the bad value.
Result<bool> InitLogging(const std::string& level, const std::string& format);

/// One structured line: `ts=... level=info msg="..." domain=example.com` or the same as JSON.
void Log(LogLevel level, std::string_view message, const LogFields& fields = {});

}  // namespace mtasts::agent
