#include "agent/service/service_loop.h"

#include <pthread.h>
#include <systemd/sd-daemon.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <ctime>

#include "agent/log.h"

namespace mtasts::agent {
namespace {

std::string MonotonicUsec() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::to_string(static_cast<std::uint64_t>(ts.tv_sec) * 1000000U +
                        static_cast<std::uint64_t>(ts.tv_nsec) / 1000U);
}

}  // namespace

void Notify(const std::string& state) {
  (void)sd_notify(0, state.c_str());
}

ServiceLoop::ServiceLoop() {
  sigemptyset(&signals_);
  sigaddset(&signals_, SIGHUP);
  sigaddset(&signals_, SIGTERM);
  sigaddset(&signals_, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
}

void ServiceLoop::Run(const std::function<bool()>& reload,
                      const std::function<std::string()>& status) {
  Notify("READY=1\nSTATUS=" + status());

  // With WatchdogSec= set, systemd expects WATCHDOG=1 at least every interval: this loop pings
  // every half of it, waking from sigtimedwait when no signal came meanwhile.
  std::uint64_t watchdog_usec = 0;
  if (sd_watchdog_enabled(0, &watchdog_usec) <= 0) watchdog_usec = 0;
  timespec ping_every{};
  if (watchdog_usec > 0) {
    const std::uint64_t half = std::max<std::uint64_t>(watchdog_usec / 2, 1);
    ping_every.tv_sec = static_cast<time_t>(half / 1000000U);
    ping_every.tv_nsec = static_cast<long>(half % 1000000U) * 1000L;
    Notify("WATCHDOG=1");
  }

  for (;;) {
    const int signal = watchdog_usec > 0 ? sigtimedwait(&signals_, nullptr, &ping_every)
                                         : sigwaitinfo(&signals_, nullptr);
    if (signal < 0) {
      if (errno == EAGAIN) Notify("WATCHDOG=1");  // the interval passed without a signal
      continue;
    }
    if (signal == SIGHUP) {
      Log(LogLevel::kInfo, "SIGHUP: reloading the config");
      Notify("RELOADING=1\nMONOTONIC_USEC=" + MonotonicUsec() + "\nSTATUS=reloading the config");
      const bool reloaded = reload();
      Notify("READY=1\nSTATUS=" + status() +
             (reloaded ? "" : "; the last reload failed, the previous config runs"));
      if (watchdog_usec > 0) Notify("WATCHDOG=1");
      continue;
    }
    Log(LogLevel::kInfo, "shutting down", {{"signal", signal == SIGTERM ? "SIGTERM" : "SIGINT"}});
    Notify("STOPPING=1\nSTATUS=shutting down: finishing the checks in flight");
    return;
  }
}

}  // namespace mtasts::agent
