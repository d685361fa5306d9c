#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/unique_fd.h"
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

/// The Resolver on c-ares. One event-loop thread owns every channel (c-ares 1.18 channels are
/// not thread-safe): one channel per check (ForCheck), or per lookup when asked directly, so
/// that a hostile server's failures stay with the check that met them; callers hand queries
/// over through a queue and wake the loop through an eventfd. At most about kMaxInFlight queries
/// are outstanding at once; the rest wait their turn in the queue (their callers' deadlines still
/// bound them). c-ares statuses are translated to Presence/Error here and only here.
class CaresResolver final : public Resolver {
 public:
  static constexpr int kMaxInFlight = 128;

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

 private:
  struct Channel;
  struct CheckChannel;
  class CheckView;
  // `check`: the channel of the check the lookup belongs to; null for a channel of its own.
  Lookup<TxtAnswer> StartTxt(const std::string& name, std::shared_ptr<CheckChannel> check);
  Lookup<MxAnswer> StartMx(const std::string& name, std::shared_ptr<CheckChannel> check);
  Lookup<AddressAnswer> StartAddresses(const std::string& name,
                                       std::shared_ptr<CheckChannel> check);
  Lookup<TlsaAnswer> StartTlsa(const std::string& name, std::shared_ptr<CheckChannel> check);
  void Submit(std::function<void()> start_query);
  /// Makes the loop go round once more: one eventfd write per round at most (wake_pending_).
  void Wake();
  /// Starts one query on the loop thread, counted in in_flight_ until its callback runs.
  void Query(ares_channeldata* channel, const std::string& name, int type,
             void (*callback)(void*, int, int, unsigned char*, int), void* arg);
  void Loop();
  void ReapFinished();  // destroys the channels whose lookups have all ended

  std::unique_ptr<Channel> channel_;
  std::mutex mutex_;
  std::vector<std::function<void()>> pending_;  // guarded by mutex_
  bool stopping_ = false;                       // guarded by mutex_
  std::deque<std::function<void()>> waiting_;   // loop thread only: handed over, not started
  int in_flight_ = 0;                           // loop thread only (and the destructor)
  UniqueFd wake_fd_;
  // Set by the first Wake since the loop last looked at its queue, cleared by the loop before
  // it looks: a check's burst of lookups costs one eventfd write and one wake-up, not one each.
  std::atomic<bool> wake_pending_{false};
  std::thread loop_;
};

}  // namespace mtasts::dns
