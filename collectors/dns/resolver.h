#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
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

/// What answers a lookup in the thread that waits for it: the lookup's channel, whose sockets
/// that thread reads while it waits (CaresResolver). A lookup without one is answered elsewhere.
class LookupDriver {
 public:
  virtual ~LookupDriver() = default;
  /// Reads and processes the channel's answers and retries until `done()` holds or `until`
  /// passes; with `until` already past, still takes once what has already arrived.
  virtual void RunUntil(const std::function<bool()>& done,
                        std::chrono::steady_clock::time_point until) = 0;
};

/// Where a driven lookup's answer lands: written by its channel's callback, read by the thread
/// that waits for it, which is the thread that drives the channel (no synchronisation needed).
template <class T>
using AnswerSlot = std::shared_ptr<std::optional<Result<T>>>;

/// The answer of a lookup to come. Like a future (Valid, WaitUntil, Get), and waiting on one
/// drives its channel: its answer is read by the thread that waits for it, not handed over by
/// another. Belongs to the thread that started it (a check runs on one).
template <class T>
class Lookup {
 public:
  Lookup() = default;
  // Implicit: a future answered elsewhere (tests, fixed answers) is a lookup as it stands.
  Lookup(std::future<Result<T>> future)  // NOLINT(google-explicit-constructor)
      : future_(std::move(future)) {}
  Lookup(AnswerSlot<T> answer, std::shared_ptr<LookupDriver> driver)
      : answer_(std::move(answer)), driver_(std::move(driver)) {}

  bool Valid() const noexcept { return answer_ != nullptr || future_.valid(); }
  std::future_status WaitUntil(std::chrono::steady_clock::time_point until) {
    if (answer_ == nullptr) return future_.wait_until(until);
    if (!answer_->has_value() && driver_ != nullptr) {
      driver_->RunUntil([this] { return answer_->has_value(); }, until);
    }
    return answer_->has_value() ? std::future_status::ready : std::future_status::timeout;
  }
  /// The answer; only once it is ready (WaitUntil said so).
  Result<T> Get() {
    if (answer_ == nullptr) return future_.get();
    Result<T> result = std::move(answer_->value());
    answer_.reset();
    driver_.reset();  // the channel may close once no lookup of it waits
    return result;
  }

 private:
  std::future<Result<T>> future_;
  AnswerSlot<T> answer_;
  std::shared_ptr<LookupDriver> driver_;
};

/// Asynchronous DNS lookups. Every method sends the query and returns at once; the answer
/// arrives in the Lookup, read while the caller waits for it. Names are looked up exactly as given
/// (no search-list expansion, no hosts file). Thread-safe; each lookup, and each ForCheck resolver,
/// belongs to one thread.
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
  /// failures stay with its own check. Its lookups may outlive it (the channel closes with the
  /// last of them); neither may outlive this resolver.
  virtual std::unique_ptr<Resolver> ForCheck() = 0;
};

/// Parses a raw DNS response (the whole message) for the TLSA records of its answer section.
/// NXDOMAIN and an empty answer are answers; a truncated or malformed message is an error.
Result<TlsaAnswer> ParseTlsaResponse(const std::uint8_t* message, std::size_t length);

/// Waits for a lookup until the deadline; past it, an error saying the lookup timed out.
template <class T>
Result<T> Await(Lookup<T>& lookup, const Deadline& deadline, const std::string& what) {
  if (!lookup.Valid()) return Error{what + ": lookup was not started"};
  if (lookup.WaitUntil(deadline.at()) != std::future_status::ready) {
    return Error{what + ": timed out (check timeout reached)"};
  }
  return lookup.Get();
}

}  // namespace mtasts::dns
