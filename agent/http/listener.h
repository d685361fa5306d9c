#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "agent/http/connection_gate.h"
#include "agent/http/routes.h"
#include "agent/http/tls_server.h"
#include "base/result.h"

namespace httplib {
class ThreadPool;
}

namespace mtasts::agent {

/// "HOST:PORT", ":PORT" (every interface) or "[IPv6]:PORT" into host and port; errors name it.
Result<std::pair<std::string, int>> ParseListenAddress(const std::string& text);

/// One request and the answer to it, as ServeExchanges saw them.
struct HttpExchange {
  std::string request;   // the request's bytes (for a refusal: every byte left)
  std::string response;  // the raw answer, with any interim 100 Continue
};

/// An HTTP/1.1 listener on cpp-httplib serving the routes of the parts it is given. Every
/// connection waits in a ConnectionGate (no thread held) until a whole request has arrived, and
/// the gate alone decides where a request ends: a worker is handed exactly the request's bytes
/// and never reads the socket. Complete requests go to 32 workers; /metrics, /-/healthy and
/// /-/ready have 4 of their own, so neither slow clients nor floods of API requests stall
/// scrapes. The caps of README "HTTP endpoints" (connections in all and per client, the operator
/// reserve) are the gate's; in all the listener holds at most a quarter of the process's
/// descriptor limit (RLIMIT_NOFILE), and never more than 1024 connections (plus the reserve), so
/// outbound lookups and fetches keep theirs.
class Listener {
 public:
  /// Serves the routes of `owners`, each request admitted by `guard` when there is one; both
  /// must outlive the listener.
  explicit Listener(std::vector<RouteOwner*> owners, ListenerGuard* guard = nullptr);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  /// Binds and starts serving on a background thread. Errors name the address and the reason.
  Result<bool> Start(const std::string& listen_address);
  void Stop();
  int port() const { return port_; }
  /// Serves HTTPS with `tls` (null: plain HTTP) on connections accepted after the call; those
  /// accepted before keep what they began with. Thread-safe (a reload swaps the certificate).
  void SetTls(std::shared_ptr<const TlsServerContext> tls);

  /// The gate's limits (the connection caps are set by Start from RLIMIT_NOFILE).
  const ConnectionGate::Limits& limits() const { return limits_; }

  /// Serves raw HTTP/1.1 bytes from memory as the listener would serve them, one keep-alive
  /// connection from `remote_addr`: the gate's judgement (ConnectionGate::Examine: refusals,
  /// where each request ends), then httplib's parsing, routing, validation and handlers, with
  /// no socket. One exchange per request; a refusal, or bytes ending inside a request (the
  /// listener's 408), ends the list. Always plain HTTP. For the fuzzer and tests. (httplib writes a
  /// content provider's body only while it listens, so /metrics answers carry their head alone
  /// here.)
  std::vector<HttpExchange> ServeExchanges(std::string_view bytes,
                                           const std::string& remote_addr = "127.0.0.1");
  /// ServeExchanges' responses, one after the other (empty without any request byte).
  std::string ServeBytes(std::string_view bytes, const std::string& remote_addr = "127.0.0.1");

 private:
  class Server;            // the httplib::Server that takes its connections from the gate
  class ConnectionStream;  // one request's bytes for httplib, and the socket to answer on
  void ServeConnection(ConnectionGate::Ready ready);
  /// Serves the request in `stream`; true when the connection may carry another one.
  bool ServeOne(ConnectionStream& stream, int served);

  std::vector<RouteOwner*> owners_;
  ListenerGuard* guard_;
  ConnectionGate::Limits limits_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<ConnectionGate> gate_;
  std::unique_ptr<httplib::ThreadPool> workers_;           // every complete request but...
  std::unique_ptr<httplib::ThreadPool> operator_workers_;  // /metrics, /-/healthy, /-/ready
  std::atomic<bool> stopping_{false};
  std::mutex tls_mutex_;  // guards tls_ (accepts read it, SetTls writes it)
  std::shared_ptr<const TlsServerContext> tls_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace mtasts::agent
