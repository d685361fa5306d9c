#include "collectors/smtp/mx_phase.h"

#include <algorithm>
#include <utility>

namespace mtasts::smtp {

MxPhase::MxPhase(const std::vector<std::string>& hosts, ProbeSettings settings,
                 dns::Resolver& resolver)
    : settings_(std::move(settings)),
      hosts_(hosts.begin(),
             hosts.begin() + static_cast<std::ptrdiff_t>(std::min(hosts.size(), kMaxProbedHosts))) {
  observation_.probed = settings_.probe;
  for (const auto& host : hosts_) {  // every lookup in flight at once
    tlsa_.push_back(resolver.Tlsa("_25._tcp." + host));
    if (settings_.probe) addresses_.push_back(resolver.Addresses(host));
    observation_.hosts.emplace_back().host = host;
  }
}

void MxPhase::StartProbes(const net::AddressPolicy& guard, const SmtpProber& prober,
                          const Deadline& until, const Deadline& deadline) {
  if (!settings_.probe) return;
  for (; probes_started_ < hosts_.size(); ++probes_started_) {
    const std::size_t i = probes_started_;
    const std::string& name = hosts_[i];
    if (until.at() < deadline.at() &&
        addresses_[i].WaitUntil(until.at()) != std::future_status::ready) {
      return;  // left to Finish, which waits until the deadline
    }
    HostObservation& host = observation_.hosts[i];
    auto answer = dns::Await(addresses_[i], deadline, "A/AAAA " + name);
    if (!answer) {
      host.address_error = answer.error().message;
      continue;
    }
    if (answer->presence != dns::Presence::kFound || answer->addresses.empty()) {
      host.address_error = answer->presence == dns::Presence::kNxDomain
                               ? "the MX host " + name + " does not exist (NXDOMAIN)"
                               : "the MX host " + name + " has no A or AAAA records";
      continue;
    }
    std::size_t probed = 0;
    for (const auto& address : answer->addresses) {
      auto verdict = guard.Check(address);
      if (!verdict.allowed) {
        host.refused.push_back(address.ToString() + ": " + verdict.reason);
        continue;
      }
      if (probed++ >= kMaxAddressesPerHost) break;
      ProbeRequest request{name, address, settings_.port, settings_.ehlo_name, deadline};
      // A thread per probe: the prober blocks (poll) until its answer or the deadline.
      probes_.push_back({i, address.ToString(), std::async(std::launch::async, [prober, request] {
                           return prober.Probe(request);
                         })});
    }
  }
}

MxObservation MxPhase::Finish(const net::AddressPolicy& guard, const SmtpProber& prober,
                              const Deadline& deadline) && {
  StartProbes(guard, prober, deadline, deadline);
  for (auto& p : probes_) observation_.hosts[p.host].probes.emplace_back(p.address, p.result.get());
  for (std::size_t i = 0; i < hosts_.size(); ++i) {
    observation_.hosts[i].tlsa = dns::Await(tlsa_[i], deadline, "TLSA _25._tcp." + hosts_[i]);
  }
  return std::move(observation_);
}

}  // namespace mtasts::smtp
