#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "agent/http/routes.h"
#include "agent/http/tls_server.h"
#include "base/unique_fd.h"

namespace mtasts::agent {

/// The client a per-client limit applies to, from a numeric address: an IPv4 address (also
/// when written IPv4-mapped), or the /64 network of an IPv6 address (what one site is given,
/// so that one host cannot multiply its share by changing the interface identifier).
/// Anything else is returned as it is.
std::string ClientNetwork(const std::string& address);

/// Where every connection of the listener waits, without holding a worker thread, until a whole
/// request has arrived (the slowloris defence), and the one place that decides what a request
/// is: one epoll thread reads what clients send and hands a worker exactly the bytes of one
/// request, its head and the body Content-Length declared, never more (README "HTTP
/// endpoints", listener limits). Bytes sent after it stay here until the worker gives the
/// connection back; a worker never reads the socket.
///
/// Refused (the answer written by the gate, then the connection closed; see Examine): heads with
/// a bare LF or CR, malformed request lines or header lines, Transfer-Encoding, a duplicate or
/// malformed Content-Length, a body on anything but POST, a body over `max_body` (or the path's own
/// cap of `body_limits`, checked against Content-Length before any of the body is buffered), a
/// coded body; a head over `max_head` (431); a request not complete within `request_timeout` of its
/// first byte (408). An idle connection is closed after `idle_timeout`.
///
/// Caps, counted over every connection the listener holds (waiting here, queued for a worker,
/// being served, closing): `max_connections` in all and `max_per_client` per ClientNetwork. A
/// new connection over a cap closes the oldest connection waiting here (of that client, for the
/// per-client cap) to make room. When none is waiting (all are queued or being served), it is
/// admitted into a reserve of `operator_reserve` connections that may only ask for /metrics,
/// /-/healthy or /-/ready (anything else: 503); with the reserve full too, it gets 503 with
/// Retry-After and is closed.
///
/// Closing is lingering: after the last answer the gate stops writing, discards what the client
/// still sends (up to kMaxDrain bytes, for `linger`), then closes, so that the client reads the
/// answer instead of a reset.
///
/// With TLS (a TlsServerContext given to Accept), the handshake happens here too, driven by
/// epoll without holding a worker and within `request_timeout`; every limit above holds over the
/// decrypted bytes, and a handshake that fails (plain HTTP to the TLS port) closes the connection
/// with nothing dispatched. The gate owns each connection's SSL; a worker borrows it with the
/// socket (Ready::tls) and answers through it until Return, so one thread at a time uses it.
///
/// Thread-safe. Sockets travel as owners (UniqueFd): the gate owns a connection's socket while
/// it waits or closes, a worker from dispatch until it gives it back with Return.
class ConnectionGate {
 public:
  struct Limits {
    std::chrono::milliseconds request_timeout{10'000};
    std::chrono::milliseconds idle_timeout{5'000};
    std::chrono::milliseconds linger{1'000};
    std::size_t max_head = std::size_t{16} * 1024;
    std::size_t max_body = std::size_t{64} * 1024;
    /// POST paths with a body cap of their own instead of `max_body` (exact path, no query).
    std::vector<RouteOwner::BodyLimit> body_limits;
    /// Connections at once receiving a body over `max_body` (for a path of `body_limits`): each
    /// may buffer up to its path's cap, so their number is what bounds that memory. One more is
    /// answered 503 with Retry-After.
    std::size_t max_large_bodies = 16;
    std::size_t max_connections = 1024;
    std::size_t max_per_client = 64;
    std::size_t operator_reserve = 16;
  };
  static constexpr std::size_t kMaxDrain = std::size_t{256} * 1024;

  /// What the bytes a connection has sent so far amount to (pure; Examine).
  struct Verdict {
    enum class Kind { kPartial, kComplete, kRefused };
    Kind kind = Kind::kPartial;
    std::size_t length = 0;   // kComplete: bytes of the request, head and body
    bool priority = false;    // kComplete: GET or HEAD of /metrics, /-/healthy or /-/ready
    int status = 0;           // kRefused: the status to answer before closing
    std::string_view reason;  // kRefused: why, in a few words (static text)
    const RouteOwner::BodyLimit* body_limit = nullptr;  // the path's own cap, when it has one
  };
  static Verdict Examine(std::string_view bytes, const Limits& limits);

  /// The whole response the gate writes with a refusal: `status`, `reason` as a text/plain body,
  /// `Connection: close` (and `Retry-After: 1` with 503).
  static std::string RefusalReply(int status, std::string_view reason);

  /// A complete request for a worker: the socket, exactly the request's bytes, how many requests
  /// the connection served before, and whether it is for an operator endpoint.
  struct Ready {
    UniqueFd fd;
    std::string request;
    int served = 0;
    bool priority = false;
    SSL* tls = nullptr;  // the connection's TLS session (the gate's), null for plain HTTP
  };
  /// Queues a request for a worker; called on the gate's thread. The worker must call Return.
  using Dispatch = std::function<void(Ready)>;

  ConnectionGate(Limits limits, Dispatch dispatch);
  ~ConnectionGate();
  ConnectionGate(const ConnectionGate&) = delete;
  ConnectionGate& operator=(const ConnectionGate&) = delete;

  /// A new connection, straight from accept(), served over TLS with `tls` (null: plain HTTP).
  /// After Stop it is closed at once.
  void Accept(UniqueFd fd, std::shared_ptr<const TlsServerContext> tls = nullptr);
  /// A worker is done with the request of `fd` and gives the socket back: with `keep_alive` the
  /// connection waits for its next request (beginning with the bytes already read after this
  /// one), else it is closed. Every socket dispatched must come back, even after a failure.
  void Return(UniqueFd fd, bool keep_alive);
  /// Closes every connection waiting here and ends the thread; connections being served are
  /// closed when returned. Idempotent.
  void Stop();

 private:
  using Clock = std::chrono::steady_clock;
  enum class State { kWaiting, kBusy, kClosing };
  struct Conn {
    UniqueFd socket;  // empty while a worker has it (kBusy)
    std::string client;
    std::string bytes;  // read and not yet handed to a worker
    State state = State::kWaiting;
    bool restricted = false;  // admitted from the operator reserve
    int served = 0;
    Clock::time_point since;     // began waiting (eviction takes the oldest)
    Clock::time_point deadline;  // idle, request or linger deadline
    std::size_t drained = 0;
    bool large = false;  // receiving a body over max_body: counted in large_
    UniqueSsl tls;       // null for plain HTTP
    bool handshaking = false;
    bool tls_failed = false;  // a fatal TLS error: no close_notify, nothing more to write
    bool want_write = false;  // TLS needs the socket writable (epoll watches EPOLLOUT)
  };
  struct Event {
    UniqueFd fd;
    bool accept;                                  // else a return
    bool keep_alive;                              // of a return
    std::shared_ptr<const TlsServerContext> tls;  // of an accept
  };

  /// Hands an event to the gate thread (closing its socket when the gate has stopped).
  void Post(Event event);
  void Run();
  void OnAccept(UniqueFd owned, const std::shared_ptr<const TlsServerContext>& tls);
  void OnReturn(UniqueFd owned, bool keep_alive);
  void OnReadable(int fd);
  void Judge(int fd);
  void Wait(Conn& conn);
  void Refuse(int fd, int status, std::string_view reason);
  /// Drives a TLS handshake on; true once it is done (false: wait, or the connection is closing).
  bool Handshake(int fd, Conn& conn);
  /// Reads what the client sent (decrypted with TLS): bytes, 0 at the end or on an error, -1
  /// when nothing can be read now.
  ssize_t Receive(int fd, Conn& conn, char* buf, std::size_t size);
  /// Writes a short answer the gate makes itself, as far as the socket takes it at once.
  static void SendReply(int fd, Conn& conn, std::string_view reply);
  /// What epoll watches a waiting client for: readable, or writable while TLS needs to write.
  void WatchFor(int fd, Conn& conn, bool write);
  /// Adds a client socket to the epoll set (readable or peer closed); false when that failed.
  bool WatchClient(int fd);
  void Linger(int fd, Conn& conn);
  void Drop(int fd);
  /// The connection no longer holds a large body (dispatched, refused or closed).
  void ReleaseLarge(Conn& conn);
  enum class Pick { kAny, kRestricted, kUnrestricted };
  /// Closes the oldest connection waiting here (of `client`, unless null); false when none.
  bool Evict(const std::string* client, Pick pick);
  void Expire();

  Limits limits_;
  Dispatch dispatch_;
  UniqueFd epoll_fd_;
  UniqueFd wake_fd_;
  std::thread thread_;

  std::mutex mutex_;  // guards events_ and stopped_
  std::vector<Event> events_;
  bool stopped_ = false;

  // The gate thread's alone:
  std::unordered_map<int, Conn> conns_;
  std::unordered_map<std::string, std::size_t> per_client_;
  std::size_t restricted_ = 0;
  std::size_t large_ = 0;  // connections with conn.large
};

}  // namespace mtasts::agent
