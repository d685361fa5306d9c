#pragma once

#include <cstdint>
#include <future>
#include <string>
#include <vector>

#include "collectors/common/deadline.h"
#include "collectors/common/result.h"
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
  std::vector<net::IpAddress> addresses;  // IPv4 first, then IPv6, in answer order
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
};

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
