#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/deadline.h"
#include "collectors/dns/resolver.h"
#include "collectors/net/address_policy.h"
#include "collectors/report/report.h"
#include "collectors/smtp/smtp_prober.h"

namespace mtasts::smtp {

/// Days before a certificate's notAfter from which mx_cert_expiring / policy_cert_expiring fire.
inline constexpr std::int64_t kExpiryWarningSeconds = std::int64_t{14} * 24 * 3600;
/// Bounds on the work one domain can cause: hosts probed, addresses per host.
inline constexpr std::size_t kMaxProbedHosts = 10;
inline constexpr std::size_t kMaxAddressesPerHost = 4;

/// What was seen of one MX host: its addresses' probes and its TLSA records.
struct HostObservation {
  std::string host;
  std::optional<std::string> address_error;  // the A/AAAA lookup failed or found nothing
  std::vector<std::string> refused;          // "ADDR: reason" for each address the guard refused
  std::vector<std::pair<std::string, ProbeResult>> probes;  // (address, result)
  std::optional<Result<dns::TlsaAnswer>> tlsa;              // unset when not looked up
};

struct MxObservation {
  bool probed = false;  // STARTTLS probes were asked for
  std::vector<HostObservation> hosts;
};

struct ProbeSettings {
  bool probe = false;  // STARTTLS probes; TLSA lookups happen regardless
  std::uint16_t port = 25;
  std::string ehlo_name = "localhost";
};

/// The I/O half, for each MX host: smtp::MxPhase (collectors/smtp/mx_phase.h).

/// The pure half: fills report.mx.probes/dane and judges mx_starttls_missing and mx_cert_invalid
/// (critical in enforce, high in testing, and without an enforced policy high for a missing
/// STARTTLS but medium for a bad certificate), mx_unreachable (medium) and mx_cert_expiring
/// (medium, under 14 days). Reads report.policy for the mode. `now` is Unix seconds.
void ApplyMxObservation(const MxObservation& observation, std::int64_t now, DomainReport& report);

/// policy_cert_expiring (medium): the policy host's verified certificate ends within 14 days.
void ApplyPolicyCertExpiry(std::int64_t now, DomainReport& report);

/// "3 1 1 0123ab…": a TLSA record in presentation form (RFC 6698 §2.2).
std::string TlsaToText(const dns::TlsaRecord& record);

}  // namespace mtasts::smtp
