#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>

namespace mtasts::net {

/// Enforces whole-request deadlines on sockets that a library drives (cpp-httplib has only
/// per-read timeouts, so a peer dripping one byte a second would never time out). An armed
/// socket is shut down at its deadline, which makes every blocked read or write on it fail at
/// once. The watchdog owns a dup() of each socket while armed, so the descriptor number it shuts
/// down can never have been reused for another connection. One thread for the whole process.
class SocketWatchdog {
 public:
  using Clock = std::chrono::steady_clock;
  using Token = std::uint64_t;

  static SocketWatchdog& Instance();

  SocketWatchdog();
  ~SocketWatchdog();
  SocketWatchdog(const SocketWatchdog&) = delete;
  SocketWatchdog& operator=(const SocketWatchdog&) = delete;

  /// Watches `fd` (duplicated here; the caller keeps its own) until Disarm or `deadline`.
  /// Returns 0 when the socket could not be duplicated (then it is not watched).
  Token Arm(int fd, Clock::time_point deadline);
  /// Stops watching; returns true when the deadline had already fired for this token.
  bool Disarm(Token token);

 private:
  struct Entry {
    int fd;
    Clock::time_point deadline;
    bool fired = false;
  };
  void Run();

  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<Token, Entry> entries_;  // guarded by mutex_
  Token next_token_ = 1;            // guarded by mutex_
  bool stopping_ = false;           // guarded by mutex_
  std::thread thread_;
};

}  // namespace mtasts::net
