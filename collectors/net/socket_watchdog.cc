#include "collectors/net/socket_watchdog.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace mtasts::net {

SocketWatchdog& SocketWatchdog::Instance() {
  static SocketWatchdog instance;
  return instance;
}

SocketWatchdog::SocketWatchdog() : thread_([this] { Run(); }) {}

SocketWatchdog::~SocketWatchdog() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
  for (auto& [token, entry] : entries_) close(entry.fd);
}

SocketWatchdog::Token SocketWatchdog::Arm(int fd, Clock::time_point deadline) {
  int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) return 0;
  Token token = 0;
  {
    std::lock_guard lock(mutex_);
    token = next_token_++;
    entries_.emplace(token, Entry{copy, deadline});
  }
  changed_.notify_all();
  return token;
}

bool SocketWatchdog::Disarm(Token token) {
  if (token == 0) return false;
  std::lock_guard lock(mutex_);
  auto it = entries_.find(token);
  if (it == entries_.end()) return false;
  bool fired = it->second.fired;
  close(it->second.fd);
  entries_.erase(it);
  return fired;
}

void SocketWatchdog::Run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    auto next = Clock::time_point::max();
    auto now = Clock::now();
    for (auto& [token, entry] : entries_) {
      if (entry.fired) continue;
      if (entry.deadline <= now) {
        shutdown(entry.fd, SHUT_RDWR);  // wakes the owner's poll/recv with an error
        entry.fired = true;
      } else {
        next = std::min(next, entry.deadline);
      }
    }
    if (next == Clock::time_point::max()) {
      changed_.wait(lock);
    } else {
      changed_.wait_until(lock, next);
    }
  }
}

}  // namespace mtasts::net
