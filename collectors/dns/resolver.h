#pragma once

#include <cstdint>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "base/deadline.h"
#include "base/result.h"
#include "collectors/net/ip_address.h"

namespace mtasts::dns {

/// Whether a name answered with data. NXDOMAIN and NODATA are answers ("no record" is a
/// finding), not errors; SERVFAIL, REFUSED and timeouts are errors (the answer is unknown).
enum class Presence { kFound, kNxDomain, kNoData };

struct TxtAnswer {
  Presence presence = Presence::kNoData;
  std::vector<std::string> records;  // each record's character-strings joined (RFC 8461 §3.1)
};

struct MxRecord {
  std::uint16_t preference = 0;
  std::string host;  // lower-case, no trailing dot; "" for a null MX (RFC 7505)
};

struct MxAnswer {
  Presence presence = Presence::kNoData;
  std::vector<MxRecord> records;  // sorted by preference, then name
};

struct AddressAnswer {
  Presence presence = Presence::kNoData;
  // IPv4 first, then IPv6, in answer order (the policy fetch dials IPv6 first regardless)
  std::vector<net::IpAddress> addresses;
};

/// One TLSA record (RFC 6698 §2.1).
struct TlsaRecord {
  std::uint8_t usage = 0;
  std::uint8_t selector = 0;
  std::uint8_t matching_type = 0;
  std::vector<std::uint8_t> data;  // certificate association data
};

struct TlsaAnswer {
  Presence presence = Presence::kNoData;
  bool authenticated = false;  // the resolver set AD: it validated the answer with DNSSEC
  std::vector<TlsaRecord> records;
};

template <class T>
using Lookup = std::future<Result<T>>;

/// Asynchronous DNS lookups. Every method starts the query and returns at once; the answer
/// arrives in the future. Names are looked up exactly as given (no search-list expansion, no
/// hosts file). Thread-safe.
class Resolver {
 public:
  virtual ~Resolver() = default;
  virtual Lookup<TxtAnswer> Txt(const std::string& name) = 0;
  virtual Lookup<MxAnswer> Mx(const std::string& name) = 0;
  /// A and AAAA together; CNAME chains are followed by the recursive server.
  virtual Lookup<AddressAnswer> Addresses(const std::string& name) = 0;
  /// TLSA records (RFC 6698), asked with AD and DO set so a validating resolver reports whether
  /// it validated the answer (RFC 6840 §5.7); `authenticated` is the answer's AD bit.
  virtual Lookup<TlsaAnswer> Tlsa(const std::string& name) = 0;
  /// A resolver for the lookups of one check (one domain): they share what they can (one
  /// connection to the server) and nothing with any other check's, so a hostile domain's DNS
  /// failures stay with its own check. Its lookups may outlive it (they end by their own
  /// timeouts); it must not outlive this resolver.
  virtual std::unique_ptr<Resolver> ForCheck() = 0;
};

/// Parses a raw DNS response (the whole message) for the TLSA records of its answer section.
/// NXDOMAIN and an empty answer are answers; a truncated or malformed message is an error.
Result<TlsaAnswer> ParseTlsaResponse(const std::uint8_t* message, std::size_t length);

/// Waits for a lookup until the deadline; past it, an error saying the lookup timed out.
template <class T>
Result<T> Await(Lookup<T>& lookup, const Deadline& deadline, const std::string& what) {
  if (!lookup.valid()) return Error{what + ": lookup was not started"};
  if (lookup.wait_until(deadline.at()) != std::future_status::ready) {
    return Error{what + ": timed out (check timeout reached)"};
  }
  return lookup.get();
}

}  // namespace mtasts::dns
