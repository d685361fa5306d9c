#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace mtasts::agent {

/// Where the listener's connections wait, without holding a worker thread, until a whole
/// request has arrived: the slowloris defence. One epoll thread reads what clients send; a
/// connection is handed to a worker only with a complete request head (and its body, when
/// Content-Length announces one of at most max_body bytes). Bounds:
///  - a request must be complete within `request_timeout` of its first byte (else 408, closed);
///  - a connection with no request started is closed after `idle_timeout` (keep-alive idle);
///  - a request head over `max_head` bytes gets 431 and is closed;
///  - at most `max_connections` connections wait here; a new one evicts the one that has been
///    waiting longest.
/// Thread-safe. Takes ownership of every descriptor given to Add.
class ConnectionGate {
 public:
  struct Limits {
    std::chrono::milliseconds request_timeout{10'000};
    std::chrono::milliseconds idle_timeout{5'000};
    std::size_t max_head = 16 * 1024;
    std::size_t max_body = 64 * 1024;
    std::size_t max_connections = 512;
  };

  /// A connection with a complete request: the socket, the bytes read so far (the request and
  /// perhaps the start of the next), how many requests it served before, and whether the request
  /// is for an operator endpoint (/metrics, /-/healthy, /-/ready).
  struct Ready {
    int fd = -1;
    std::string bytes;
    int served = 0;
    bool priority = false;
  };
  using Dispatch = std::function<void(Ready)>;

  ConnectionGate(Limits limits, Dispatch dispatch);
  ~ConnectionGate();
  ConnectionGate(const ConnectionGate&) = delete;
  ConnectionGate& operator=(const ConnectionGate&) = delete;

  /// Starts watching `fd` (bytes already read from it in `carry`); after Stop it is closed.
  void Add(int fd, std::string carry = {}, int served = 0);
  /// Closes every waiting connection and ends the thread. Idempotent.
  void Stop();

  /// How complete the bytes of one request are (pure; exposed for tests).
  enum class Completeness { kPartial, kComplete, kHeadTooLarge };
  static Completeness Examine(std::string_view bytes, const Limits& limits, bool* priority);

 private:
  struct Waiting {
    std::string bytes;
    int served = 0;
    std::chrono::steady_clock::time_point since;     // entered the gate
    std::chrono::steady_clock::time_point deadline;  // idle or request deadline
  };

  void Run();
  void Admit(int fd, std::string carry, int served);
  void OnReadable(int fd);
  void Expire();
  void Close(int fd, std::string_view reply);
  void Evict();

  Limits limits_;
  Dispatch dispatch_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::thread thread_;

  std::mutex mutex_;  // guards incoming_ and stopped_
  struct Incoming {
    int fd;
    std::string carry;
    int served;
  };
  std::vector<Incoming> incoming_;
  bool stopped_ = false;

  std::map<int, Waiting> waiting_;  // the gate thread's alone
};

}  // namespace mtasts::agent
