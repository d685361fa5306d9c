#pragma once

#include <cstddef>
#include <future>
#include <string>
#include <vector>

#include "base/deadline.h"
#include "collectors/dns/resolver.h"
#include "collectors/net/address_policy.h"
#include "collectors/smtp/mx_probe_check.h"
#include "collectors/smtp/smtp_prober.h"

namespace mtasts::smtp {

/// The I/O half of the MX phase, in steps, so that a check needs no thread of its
/// own for it: the constructor starts, for each MX host (at most kMaxProbedHosts), the
/// `_25._tcp.<host>` TLSA lookup and, when probing, its address lookup, and returns at once;
/// StartProbes vets the addresses that have answered with the guard (refused ones are recorded,
/// never contacted) and starts up to kMaxAddressesPerHost probes per host; Finish starts the
/// probes not started yet and awaits everything, all within `deadline`. The lookups are
/// answered by the resolver's own thread; each probe still runs on a thread of its own
/// (std::async: the prober blocks until its answer or its deadline), so only a check with
/// probe_mx starts threads, one per address probed.
class MxPhase {
 public:
  MxPhase(const std::vector<std::string>& hosts, ProbeSettings settings, dns::Resolver& resolver);

  /// When probing: starts the probes of each host in turn whose addresses answer by `until` (a
  /// point before the check's `deadline` lets the caller get on with other work); the hosts
  /// from the first one still unanswered on are left to Finish. Without probes, nothing.
  void StartProbes(const net::AddressPolicy& guard, const SmtpProber& prober, const Deadline& until,
                   const Deadline& deadline);

  /// Starts the probes left (as StartProbes until `deadline`), then awaits the probes and the
  /// TLSA answers; a lookup unanswered by `deadline` is recorded as timed out.
  MxObservation Finish(const net::AddressPolicy& guard, const SmtpProber& prober,
                       const Deadline& deadline) &&;

 private:
  struct PendingProbe {
    std::size_t host;
    std::string address;
    std::future<ProbeResult> result;
  };
  ProbeSettings settings_;
  std::vector<std::string> hosts_;
  std::vector<dns::Lookup<dns::TlsaAnswer>> tlsa_;
  std::vector<dns::Lookup<dns::AddressAnswer>> addresses_;  // when probing
  MxObservation observation_;                               // filled as the probes start
  std::vector<PendingProbe> probes_;
  std::size_t probes_started_ = 0;  // hosts whose addresses StartProbes has dealt with
};

}  // namespace mtasts::smtp
