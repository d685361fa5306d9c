#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "collectors/dns/resolver.h"

struct ares_channeldata;  // c-ares: ares_channel is a pointer to it

namespace mtasts::dns {

struct ResolverOptions {
  /// "IP", "IP:PORT", "[IPv6]:PORT". Empty: the servers of /etc/resolv.conf.
  std::vector<std::string> servers;
  /// Per-try timeout and tries per server; the caller's Deadline bounds the whole lookup.
  std::chrono::milliseconds try_timeout{2000};
  int tries = 2;
};

/// The Resolver on c-ares. Every check gets a channel (and so a UDP socket) of its own
/// (ForCheck), every lookup asked outside a check one too, so that a hostile server's failures
/// stay with the check that met them; a channel nothing is pending on is reset and reused. A
/// channel is driven by the thread that waits for its answers (Lookup::WaitUntil): the query leaves
/// from the caller's thread when it is started, and its answer is read by that thread when it
/// waits, with no thread in between. c-ares statuses are translated to Presence/Error here and only
/// here.
class CaresResolver final : public Resolver {
 public:
  /// Throws std::runtime_error when c-ares cannot start or a server address is malformed: a
  /// fatal start-up error naming the value.
  explicit CaresResolver(const ResolverOptions& options);
  ~CaresResolver() override;
  CaresResolver(const CaresResolver&) = delete;
  CaresResolver& operator=(const CaresResolver&) = delete;

  Lookup<TxtAnswer> Txt(const std::string& name) override;
  Lookup<MxAnswer> Mx(const std::string& name) override;
  Lookup<AddressAnswer> Addresses(const std::string& name) override;
  Lookup<TlsaAnswer> Tlsa(const std::string& name) override;
  std::unique_ptr<Resolver> ForCheck() override;

  /// Channels reset after a check and waiting for the next (docs/ARCHITECTURE.md, `dns/`).
  std::size_t IdleChannels() const;

 private:
  class ChannelPool;
  class Channel;
  class CheckView;
  /// A new channel, a copy of the configured template (its status says why when it has none).
  std::shared_ptr<Channel> NewChannel();
  // `channel`: the check's, or one of the lookup's own (never null).
  Lookup<TxtAnswer> StartTxt(const std::string& name, std::shared_ptr<Channel> channel);
  Lookup<MxAnswer> StartMx(const std::string& name, std::shared_ptr<Channel> channel);
  Lookup<AddressAnswer> StartAddresses(const std::string& name, std::shared_ptr<Channel> channel);
  Lookup<TlsaAnswer> StartTlsa(const std::string& name, std::shared_ptr<Channel> channel);

  ares_channeldata* template_ = nullptr;  // configured once, then only copied (read)
  std::shared_ptr<ChannelPool> pool_;
};

}  // namespace mtasts::dns
