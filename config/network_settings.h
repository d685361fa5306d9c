#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace mtasts::config {

/// The network flags of CONTRACT.md (and the `network:` keys of the config file).
struct NetworkSettings {
  std::vector<std::string> dns_servers;       // empty: /etc/resolv.conf
  std::string ca_file;                        // empty: the system trust store
  std::vector<std::string> ssrf_allow_cidrs;  // exempted from the SSRF guard
  std::chrono::milliseconds check_timeout{10000};
};

}  // namespace mtasts::config
