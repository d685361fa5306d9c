#pragma once

#include <string>

#include "collectors/common/result.h"
#include "config/config.h"

namespace mtasts::config {

/// Reads and validates a configuration file. Every error names the file, line and column and
/// the offending value ("/etc/x.yaml:12:5: schedule.min_interval: invalid duration \"5q\" ...").
/// Unknown keys, wrong types, bad values, duplicate or invalid domains and unknown webhook
/// references are errors. Never throws.
Result<Config> LoadConfig(const std::string& path);

/// The same from text; `path` is only used in messages.
Result<Config> ParseConfig(const std::string& text, const std::string& path);

}  // namespace mtasts::config
