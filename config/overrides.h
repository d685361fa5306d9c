#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/shard.h"

namespace mtasts::config {

/// What the command-line flags say over the configuration file (README "The daemon": a flag
/// wins over the file). Each unset field leaves the file's setting (or the default) as it is.
/// Filled by the flag parser; the daemon applies it to every file it loads, the one-shot
/// commands to the defaults.
struct Overrides {
  std::optional<std::vector<std::string>> dns_servers;       // --dns.server (repeatable)
  std::optional<std::string> ca_file;                        // --tls.ca-file
  std::optional<std::vector<std::string>> ssrf_allow_cidrs;  // --ssrf.allow-cidr (repeatable)
  std::optional<std::chrono::milliseconds> check_timeout;    // --check.timeout
  std::optional<std::uint16_t> smtp_port;                    // --smtp.port (hidden, for tests)
  std::optional<bool> probe_mx;                              // --probe-mx: every domain
  std::optional<Shard> shard;                                // --shard

  friend bool operator==(const Overrides&, const Overrides&) = default;
};

/// The one place flags meet the file: every set field of `overrides` replaces its setting in
/// `config` (probe_mx for the top level and every domain entry).
void ApplyOverrides(Config& config, const Overrides& overrides);

}  // namespace mtasts::config
