#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace mtasts {

/// How checks reach the network: the network flags and the `network:` keys of the config file
/// (README "Command line" and "Configuration"). Compared whole on reload.
struct NetworkSettings {
  std::vector<std::string> dns_servers;       // empty: /etc/resolv.conf
  std::string ca_file;                        // empty: the system trust store
  std::vector<std::string> ssrf_allow_cidrs;  // exempted from the SSRF guard
  std::chrono::milliseconds check_timeout{10000};
  std::uint16_t smtp_port = 25;  // MX STARTTLS probes (probe_mx); moved only by tests
  std::string ehlo_name;         // our EHLO name for the probes; empty: the host name

  friend bool operator==(const NetworkSettings&, const NetworkSettings&) = default;
};

}  // namespace mtasts
