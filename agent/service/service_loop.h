#pragma once

#include <signal.h>  // NOLINT(modernize-deprecated-headers): sigset_t is POSIX, not C++

#include <functional>
#include <string>

namespace mtasts::agent {

/// systemd's notify protocol (sd_notify(3)): a no-op unless NOTIFY_SOCKET is set, so running the
/// daemon outside systemd (and in the tests) is unaffected.
void Notify(const std::string& state);

/// The daemon's main thread once everything runs (README "Running under systemd"): it takes SIGHUP,
/// SIGTERM and SIGINT synchronously, tells systemd READY, RELOADING and STOPPING with a STATUS
/// line, and pings the watchdog (WATCHDOG=1 every half of WatchdogSec=) while it waits.
class ServiceLoop {
 public:
  /// Blocks the three signals in the calling thread: construct it before any thread starts,
  /// so every thread inherits the mask and only Run takes them.
  ServiceLoop();

  /// READY=1 with `status()`, then waits for signals: SIGHUP calls `reload` (false: it failed
  /// and the previous config runs) and is READY again; SIGTERM or SIGINT returns, STOPPING.
  /// `status` is the STATUS= text ("watching N domains, …").
  void Run(const std::function<bool()>& reload, const std::function<std::string()>& status);

 private:
  sigset_t signals_{};
};

}  // namespace mtasts::agent
