#pragma once

#include <string>

#include "base/result.h"
#include "config/config.h"

namespace mtasts::config {

/// Reads and validates a configuration file (README "Configuration"; config/example.yaml documents
/// every key). Every error names the file, line and column and the offending value
/// ("/etc/x.yaml:12:5: schedule.min_interval: invalid duration \"5q\" ..."), except webhook URLs
/// and header values, which may carry tokens and are never shown. Errors: unknown keys at any
/// level, a key repeated within one mapping, wrong types (numbers must be unquoted), bad values,
/// durations not longer than zero or over 1y, max_interval < min_interval, invalid or IP-literal
/// domains, domains equal after normalisation, unknown or repeated webhook references, duplicate
/// webhook names, a missing `domains` key, an empty file, more than one YAML document.
/// `domains: []` is valid (the daemon then only serves the API); a section left empty
/// (`network:` with nothing under it) keeps its defaults. Never throws.
Result<Config> LoadConfig(const std::string& path);

/// The same from text; `path` is only used in messages.
Result<Config> ParseConfig(const std::string& text, const std::string& path);

}  // namespace mtasts::config
