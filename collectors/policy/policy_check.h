#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/deadline.h"
#include "collectors/dns/resolver.h"
#include "collectors/net/address_policy.h"
#include "collectors/net/https_fetcher.h"
#include "collectors/report/report.h"

namespace mtasts::policy {

/// RFC 8461 §3.2: the policy host and URL of a Policy Domain.
std::string PolicyHost(std::string_view domain);
std::string PolicyUrl(std::string_view domain);

/// How far retrieving the policy got. The I/O half (RetrievePolicy) produces it; the pure half
/// (ApplyPolicy) judges it, so every judgement is testable without a network.
struct PolicyRetrieval {
  enum class Stage {
    kDnsError,  // the policy host's addresses are unknown
    kNoHost,    // the policy host does not exist or has no addresses
    kRefused,   // the SSRF guard refused the host; nothing was sent
    kFetched,   // an HTTPS exchange was attempted with a vetted address
  };
  Stage stage = Stage::kDnsError;
  std::string message;                    // for kDnsError, kNoHost and kRefused
  std::vector<std::string> refused;       // "ADDR: reason" for each refused address
  std::optional<net::FetchResult> fetch;  // for kFetched: the last attempt
  std::vector<std::string> dialled;       // for kFetched: the addresses tried, in order
};

/// At most this many addresses of one family (IPv4, IPv6) are dialled per retrieval, and at most
/// kMaxDialledAddresses in all: a name with thousands of records must not turn one check into
/// thousands of connection attempts (README "Policy fetch").
inline constexpr std::size_t kMaxDialledPerFamily = 2;
inline constexpr std::size_t kMaxDialledAddresses = 4;

/// The addresses of `answer` that may be dialled, in the order they are tried: the first
/// kMaxDialledPerFamily of each family (in the answer's order), the families interleaved, IPv6
/// first (RFC 8305 §4, after RFC 6724's preference for IPv6), at most kMaxDialledAddresses.
std::vector<net::IpAddress> AddressesToDial(const std::vector<net::IpAddress>& answer);

/// Looks up the policy host's addresses (already started), vets every one with the guard, and
/// fetches from the first address of AddressesToDial; on a connection failure (refused,
/// unreachable), tries the next, all within one deadline. A host with any refused address
/// is refused as a whole, however many addresses it has: a mixed answer is an attack signal.
PolicyRetrieval RetrievePolicy(std::string_view domain, dns::Lookup<dns::AddressAnswer>& addresses,
                               const net::AddressPolicy& guard, const net::HttpsFetcher& fetcher,
                               const Deadline& deadline);

/// Judges a retrieval into report.policy and its issues (policy_*, mode_*, max_age_short,
/// target_refused, dns_error). `sts_record_missing`: with no TXT record the policy host is
/// expected to be absent, so its absence is not reported again as policy_missing.
void ApplyPolicy(std::string_view domain, const PolicyRetrieval& retrieval, bool sts_record_missing,
                 DomainReport& report);

/// RFC 8461 §3.2: is this Content-Type `text/plain` (case-insensitive, parameters ignored)?
bool IsTextPlain(std::string_view content_type);

}  // namespace mtasts::policy
