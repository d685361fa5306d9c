#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "collectors/common/deadline.h"
#include "collectors/common/report.h"
#include "collectors/dns/resolver.h"
#include "collectors/net/address_policy.h"
#include "collectors/net/https_fetcher.h"

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
  std::optional<net::FetchResult> fetch;  // for kFetched
};

/// Looks up the policy host's addresses (already started), vets every one with the guard, and
/// fetches from the first allowed address; on a connection failure, tries the next. A host with
/// any refused address is refused as a whole: a mixed answer is an attack signal.
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
