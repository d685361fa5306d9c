// HTTPS on the listener (README "HTTP endpoints"): certificates made at test time with the
// openssl CLI, real clients (curl, and OpenSSL in-process) on loopback; the gate's handshake
// deadline and caps with TLS, client certificates, protocol versions, a certificate swapped
// while serving, and TlsServerContext::Load's errors.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "agent/http/connection_gate.h"
#include "agent/http/server.h"
#include "agent/http/tls_server.h"
#include "collectors/net/socket_bio.h"

namespace mtasts::agent {
namespace {

namespace fs = std::filesystem;

std::string Shell(const std::string& command) {
  std::string out;
  FILE* pipe = popen((command + " 2>/dev/null").c_str(), "r");
  if (pipe == nullptr) return out;
  std::array<char, 4096> buf{};
  while (const std::size_t n = fread(buf.data(), 1, buf.size(), pipe)) out.append(buf.data(), n);
  pclose(pipe);
  return out;
}

/// Test CAs and certificates (EC P-256, one day), made once for the whole binary: `ca` signs
/// `server` (for 127.0.0.1) and `client`; `other-ca` signs `server2` and `stranger`.
class Pki {
 public:
  static const Pki& Get() {
    static const Pki kPki;
    return kPki;
  }
  std::string File(const std::string& name) const { return (dir_ / name).string(); }

 private:
  Pki() : dir_(fs::temp_directory_path() / ("mtasts-tls-" + std::to_string(getpid()))) {
    fs::create_directories(dir_);
    const std::string d = dir_.string();
    const std::string key = " -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";
    for (const char* ca : {"ca", "other-ca"}) {
      Shell("openssl req -x509" + key + " -keyout " + d + "/" + ca + ".key -out " + d + "/" + ca +
            ".crt -subj /CN=" + ca + " -days 1");
    }
    const auto leaf = [&](const std::string& name, const std::string& ca, const std::string& ext) {
      Shell("printf '" + ext + "\\nbasicConstraints=CA:FALSE\\n' > " + d + "/" + name + ".ext");
      Shell("openssl req" + key + " -keyout " + d + "/" + name + ".key -out " + d + "/" + name +
            ".csr -subj /CN=" + name);
      Shell("openssl x509 -req -in " + d + "/" + name + ".csr -CA " + d + "/" + ca +
            ".crt -CAkey " + d + "/" + ca + ".key -CAcreateserial -days 1 -out " + d + "/" + name +
            ".crt -extfile " + d + "/" + name + ".ext");
    };
    leaf("server", "ca", "subjectAltName=IP:127.0.0.1");
    leaf("server2", "other-ca", "subjectAltName=IP:127.0.0.1");
    leaf("client", "ca", "extendedKeyUsage=clientAuth");
    leaf("stranger", "other-ca", "extendedKeyUsage=clientAuth");
  }
  ~Pki() { fs::remove_all(dir_); }

  fs::path dir_;
};

std::shared_ptr<const TlsServerContext> Context(TlsServerSettings settings = {}) {
  const Pki& pki = Pki::Get();
  if (settings.cert_file.empty()) settings.cert_file = pki.File("server.crt");
  if (settings.key_file.empty()) settings.key_file = pki.File("server.key");
  auto loaded = TlsServerContext::Load(settings);
  EXPECT_TRUE(loaded.has_value()) << (loaded ? "" : loaded.error().message);
  return loaded ? loaded.value() : nullptr;
}

int ConnectTcp(int port, int host = 1) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in from{};
  from.sin_family = AF_INET;
  from.sin_addr.s_addr = htonl(0x7f000000U | static_cast<std::uint32_t>(host));
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from), 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<std::uint16_t>(port));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
  timeval timeout{3, 0};  // no test hangs on a silent peer
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  return fd;
}

/// An OpenSSL client on one connection, verifying the server against `ca` (and 127.0.0.1).
class TlsClient {
 public:
  struct Options {
    std::string ca = Pki::Get().File("ca.crt");
    std::string cert;  // client certificate and key (none: no client certificate)
    std::string key;
    int max_version = 0;
    int host = 1;  // connects from 127.0.0.host
  };
  TlsClient(int port, const Options& options) : fd_(ConnectTcp(port, options.host)) {
    ctx_.reset(SSL_CTX_new(TLS_client_method()));
    SSL_CTX_set_max_proto_version(ctx_.get(), options.max_version);
    SSL_CTX_load_verify_locations(ctx_.get(), options.ca.c_str(), nullptr);
    SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_PEER, nullptr);
    if (!options.cert.empty()) {
      SSL_CTX_use_certificate_file(ctx_.get(), options.cert.c_str(), SSL_FILETYPE_PEM);
      SSL_CTX_use_PrivateKey_file(ctx_.get(), options.key.c_str(), SSL_FILETYPE_PEM);
    }
    ssl_.reset(SSL_new(ctx_.get()));
    SSL_set1_host(ssl_.get(), "127.0.0.1");
    // MSG_NOSIGNAL: the gate may close while this client still writes (a refused head), and
    // SIGPIPE would end the test binary.
    BIO* bio = net::NewSocketBio(fd_);
    SSL_set_bio(ssl_.get(), bio, bio);
    handshake_ = SSL_connect(ssl_.get()) == 1;
    ERR_clear_error();
  }
  ~TlsClient() {
    ssl_.reset();
    close(fd_);
  }
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;

  bool Handshake() const { return handshake_; }
  bool Verified() const { return SSL_get_verify_result(ssl_.get()) == X509_V_OK; }

  bool Send(const std::string& request) {
    const bool sent = SSL_write(ssl_.get(), request.data(), static_cast<int>(request.size())) > 0;
    ERR_clear_error();
    return sent;
  }
  /// One answer (head and Content-Length body); "" when none came.
  std::string ReadResponse() {
    std::array<char, 4096> buf{};
    for (;;) {
      const std::size_t head = pending_.find("\r\n\r\n");
      if (head != std::string::npos) {
        const std::size_t cl = pending_.find("Content-Length: ");
        const std::size_t body =
            cl == std::string::npos || cl > head ? 0 : std::stoul(pending_.substr(cl + 16));
        if (pending_.size() >= head + 4 + body) {
          std::string one = pending_.substr(0, head + 4 + body);
          pending_.erase(0, one.size());
          return one;
        }
      }
      const int n = SSL_read(ssl_.get(), buf.data(), static_cast<int>(buf.size()));
      if (n <= 0) {
        ERR_clear_error();
        return std::exchange(pending_, {});
      }
      pending_.append(buf.data(), static_cast<std::size_t>(n));
    }
  }
  std::string Exchange(const std::string& request) { return Send(request) ? ReadResponse() : ""; }
  /// Whether the server closed the connection (within 3 s).
  bool Closed() {
    std::array<char, 256> buf{};
    const int n = SSL_read(ssl_.get(), buf.data(), static_cast<int>(buf.size()));
    ERR_clear_error();
    return n <= 0;
  }

 private:
  struct CtxFree {
    void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
  };
  int fd_;
  std::unique_ptr<SSL_CTX, CtxFree> ctx_;
  UniqueSsl ssl_;
  bool handshake_ = false;
  std::string pending_;
};

TlsServerSettings Files(const std::string& cert, const std::string& key) {
  TlsServerSettings settings;
  settings.cert_file = cert;
  settings.key_file = key;
  return settings;
}
TlsClient::Options MaxVersion(int version) {
  TlsClient::Options options;
  options.max_version = version;
  return options;
}
TlsClient::Options ClientCert(const std::string& name) {
  TlsClient::Options options;
  options.cert = Pki::Get().File(name + ".crt");
  options.key = Pki::Get().File(name + ".key");
  return options;
}
TlsClient::Options Ca(const std::string& file) {
  TlsClient::Options options;
  options.ca = file;
  return options;
}
TlsClient::Options FromHost(int host) {
  TlsClient::Options options;
  options.host = host;
  return options;
}

int StatusOf(const std::string& response) {
  if (response.rfind("HTTP/1.1 ", 0) != 0 || response.size() < 12) return 0;
  return std::stoi(response.substr(9, 3));
}

HttpHandlers Handlers() {
  HttpHandlers h;
  h.metrics = [] { return std::make_shared<const MetricsPage>(GzipCompress("x 1\n")); };
  h.check = [](const std::string& domain) {
    DomainReport r;
    r.domain = domain;
    return r;
  };
  h.policy = h.check;
  h.ready = [] { return true; };
  return h;
}

/// The daemon's HttpServer on 127.0.0.1, HTTPS with the test certificate.
class TlsServer : public ::testing::Test {
 protected:
  void Start(TlsServerSettings settings = {}) {
    server_ = std::make_unique<HttpServer>(Handlers(), config::ApiSettings{});
    server_->SetTls(Context(std::move(settings)));
    ASSERT_TRUE(server_->Start("127.0.0.1:0").has_value());
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }
  std::string Url(const std::string& path) const {
    return "https://127.0.0.1:" + std::to_string(server_->port()) + path;
  }

  std::unique_ptr<HttpServer> server_;
};

constexpr const char* kHealthy = "GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n";

TEST_F(TlsServer, CurlAndAnOpenSslClientGetAnswersAndVerifyTheCertificate) {
  Start();
  const std::string ca = Pki::Get().File("ca.crt");
  EXPECT_EQ(Shell("curl -s --max-time 5 --compressed --cacert " + ca + " " + Url("/metrics")),
            "x 1\n");
  // Another CA: curl refuses the certificate.
  EXPECT_EQ(Shell("curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert " +
                  Pki::Get().File("other-ca.crt") + " " + Url("/metrics")),
            "000");

  TlsClient client(server_->port(), {});
  ASSERT_TRUE(client.Handshake());
  EXPECT_TRUE(client.Verified());
  // Keep-alive and pipelining over TLS: two requests in one write come back one by one.
  ASSERT_TRUE(client.Send(std::string(kHealthy) + kHealthy));
  EXPECT_EQ(StatusOf(client.ReadResponse()), 200);
  EXPECT_EQ(StatusOf(client.ReadResponse()), 200);
  EXPECT_EQ(StatusOf(client.Exchange(kHealthy)), 200) << "the connection stays open";
}

TEST_F(TlsServer, PlainHttpToTheTlsPortIsRefusedAndReachesNoWorker) {
  Start();
  const int fd = ConnectTcp(server_->port());
  const std::string request = "GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(send(fd, request.data(), request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size()));
  std::string answer;
  std::array<char, 1024> buf{};
  for (ssize_t n; (n = recv(fd, buf.data(), buf.size(), 0)) > 0;) {
    answer.append(buf.data(), static_cast<std::size_t>(n));
  }
  close(fd);
  EXPECT_EQ(answer.find("HTTP/"), std::string::npos) << "at most a TLS alert, then the close";
  EXPECT_EQ(Shell("curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://127.0.0.1:" +
                  std::to_string(server_->port()) + "/metrics"),
            "000");
}

TEST_F(TlsServer, MinimumVersionTls13RefusesATls12Client) {
  TlsServerSettings settings;
  settings.min_version = "TLS13";
  Start(settings);
  TlsClient old_client(server_->port(), MaxVersion(TLS1_2_VERSION));
  EXPECT_FALSE(old_client.Handshake());
  TlsClient client(server_->port(), {});
  ASSERT_TRUE(client.Handshake());
  EXPECT_EQ(StatusOf(client.Exchange(kHealthy)), 200);
}

TEST_F(TlsServer, TheDefaultMinimumIsTls12) {
  Start();
  TlsClient tls11(server_->port(), MaxVersion(TLS1_1_VERSION));
  EXPECT_FALSE(tls11.Handshake());
  TlsClient tls12(server_->port(), MaxVersion(TLS1_2_VERSION));
  ASSERT_TRUE(tls12.Handshake());
  EXPECT_EQ(StatusOf(tls12.Exchange(kHealthy)), 200);
}

TEST_F(TlsServer, RequireAndVerifyClientCertTakesOnlyClientsOfTheClientCa) {
  const Pki& pki = Pki::Get();
  TlsServerSettings settings;
  settings.client_auth_type = "RequireAndVerifyClientCert";
  settings.client_ca_file = pki.File("ca.crt");
  Start(settings);
  // Without a certificate (TLS 1.3: the server's refusal arrives after the client's Finished,
  // so the request gets no answer).
  TlsClient anonymous(server_->port(), {});
  EXPECT_EQ(anonymous.Exchange(kHealthy), "");
  TlsClient stranger(server_->port(), ClientCert("stranger"));
  EXPECT_EQ(stranger.Exchange(kHealthy), "") << "signed by another CA";
  TlsClient known(server_->port(), ClientCert("client"));
  ASSERT_TRUE(known.Handshake());
  EXPECT_EQ(StatusOf(known.Exchange(kHealthy)), 200);
  EXPECT_EQ(Shell("curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert " +
                  pki.File("ca.crt") + " --cert " + pki.File("client.crt") + " --key " +
                  pki.File("client.key") + " " + Url("/metrics")),
            "200");
}

TEST_F(TlsServer, ANewCertificateAppliesToNewConnections) {
  Start();
  TlsClient before(server_->port(), {});
  ASSERT_TRUE(before.Handshake());
  EXPECT_EQ(StatusOf(before.Exchange(kHealthy)), 200);
  const Pki& pki = Pki::Get();
  server_->SetTls(Context(Files(pki.File("server2.crt"), pki.File("server2.key"))));
  TlsClient old_ca(server_->port(), {});
  EXPECT_FALSE(old_ca.Handshake()) << "the new certificate is served, signed by other-ca";
  TlsClient after(server_->port(), Ca(pki.File("other-ca.crt")));
  ASSERT_TRUE(after.Handshake());
  EXPECT_EQ(StatusOf(after.Exchange(kHealthy)), 200);
  EXPECT_EQ(StatusOf(before.Exchange(kHealthy)), 200) << "an open connection keeps its session";
  server_->SetTls(nullptr);
  EXPECT_EQ(Shell("curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://127.0.0.1:" +
                  std::to_string(server_->port()) + "/-/healthy"),
            "200")
      << "null: plain HTTP again";
}

TEST(TlsServerContext, LoadErrorsNameTheFileOrTheSetting) {
  const Pki& pki = Pki::Get();
  const auto error = [](const TlsServerSettings& settings) {
    auto loaded = TlsServerContext::Load(settings);
    return loaded ? std::string() : loaded.error().message;
  };
  EXPECT_NE(error(Files("/nonexistent/cert.pem", pki.File("server.key")))
                .find("cert_file \"/nonexistent/cert.pem\": "),
            std::string::npos);
  EXPECT_NE(error(Files(pki.File("server.crt"), "/nonexistent/key.pem"))
                .find("key_file \"/nonexistent/key.pem\": "),
            std::string::npos);
  const std::string mismatch = error(Files(pki.File("server.crt"), pki.File("client.key")));
  EXPECT_NE(mismatch.find("key_file \"" + pki.File("client.key") + "\": "), std::string::npos)
      << mismatch;
  EXPECT_NE(mismatch.find("mismatch"), std::string::npos) << mismatch;
  TlsServerSettings verify = Files(pki.File("server.crt"), pki.File("server.key"));
  verify.client_auth_type = "VerifyClientCertIfGiven";
  EXPECT_NE(error(verify).find("needs client_ca_file"), std::string::npos);
  verify.client_ca_file = "/nonexistent/ca.pem";
  EXPECT_NE(error(verify).find("client_ca_file \"/nonexistent/ca.pem\": "), std::string::npos);
  verify.client_auth_type = "Sometimes";
  EXPECT_NE(error(verify).find("client_auth_type \"Sometimes\""), std::string::npos);
  TlsServerSettings version = Files(pki.File("server.crt"), pki.File("server.key"));
  version.min_version = "SSL3";
  EXPECT_NE(error(version).find("min_version \"SSL3\""), std::string::npos);
  version.min_version = "TLS13";
  version.max_version = "TLS12";
  EXPECT_NE(error(version).find("is below min_version"), std::string::npos);
  EXPECT_EQ(error(Files(pki.File("server.crt"), pki.File("server.key"))), "");
}

/// A gate with short deadlines, fed TLS connections from a loopback socket; dispatched requests
/// stay with the test until it returns them.
class TlsGate : public ::testing::Test {
 protected:
  void Start(const ConnectionGate::Limits& limits) {
    listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(listen(listener_, 64), 0);
    socklen_t len = sizeof addr;
    getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    tls_ = Context();
    gate_ = std::make_unique<ConnectionGate>(limits, [this](ConnectionGate::Ready ready) {
      std::lock_guard lock(mutex_);
      ready_.push_back(std::move(ready));
      changed_.notify_all();
    });
    // Accepts in the background: the client's handshake needs the gate while it connects.
    acceptor_ = std::thread([this] {
      for (;;) {
        const int fd = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) return;
        gate_->Accept(UniqueFd(fd), tls_);
      }
    });
  }
  void TearDown() override {
    if (listener_ >= 0) shutdown(listener_, SHUT_RDWR);
    if (acceptor_.joinable()) acceptor_.join();
    {
      std::lock_guard lock(mutex_);
      for (auto& ready : ready_) {
        if (ready.fd) gate_->Return(std::move(ready.fd), false);
      }
    }
    gate_.reset();
    ready_.clear();
    if (listener_ >= 0) close(listener_);
  }
  bool WaitDispatched(std::size_t count) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(3), [&] { return ready_.size() >= count; });
  }

  std::unique_ptr<ConnectionGate> gate_;
  std::shared_ptr<const TlsServerContext> tls_;
  int listener_ = -1;
  int port_ = 0;
  std::thread acceptor_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<ConnectionGate::Ready> ready_;
};

TEST_F(TlsGate, AStalledHandshakeIsClosedWithinTheRequestTimeout) {
  ConnectionGate::Limits limits;
  limits.request_timeout = std::chrono::milliseconds(300);
  limits.idle_timeout = std::chrono::milliseconds(5000);
  Start(limits);
  // A TLS record header announcing a ClientHello, and nothing more.
  const int fd = ConnectTcp(port_);
  const std::string stall("\x16\x03\x01\x02\x00", 5);
  ASSERT_EQ(send(fd, stall.data(), stall.size(), MSG_NOSIGNAL), 5);
  pollfd p{fd, POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 3000), 1) << "closed long before the idle timeout";
  std::array<char, 64> buf{};
  EXPECT_LE(recv(fd, buf.data(), buf.size(), 0), 0);
  close(fd);
  // Opened and silent: the same.
  const int silent = ConnectTcp(port_);
  pollfd q{silent, POLLIN, 0};
  ASSERT_EQ(poll(&q, 1, 3000), 1);
  EXPECT_LE(recv(silent, buf.data(), buf.size(), 0), 0);
  close(silent);
  std::lock_guard lock(mutex_);
  EXPECT_TRUE(ready_.empty());
}

TEST_F(TlsGate, TheLimitsHoldOverTheDecryptedBytes) {
  ConnectionGate::Limits limits;
  limits.max_per_client = 2;
  limits.max_head = 1024;
  Start(limits);
  // A worker gets exactly one request, decrypted, and the rest waits for its return.
  TlsClient client(port_, {});
  ASSERT_TRUE(client.Handshake());
  const std::string two = std::string(kHealthy) + "GET /metrics HTTP/1.1\r\n\r\n";
  ASSERT_TRUE(client.Send(two));
  ASSERT_TRUE(WaitDispatched(1));
  {
    std::lock_guard lock(mutex_);
    EXPECT_EQ(ready_[0].request, kHealthy);
    EXPECT_NE(ready_[0].tls, nullptr);
    EXPECT_EQ(ready_.size(), 1U);
    gate_->Return(std::move(ready_[0].fd), true);
  }
  ASSERT_TRUE(WaitDispatched(2)) << "the second request, read with the first, waited in the gate";
  {
    std::lock_guard lock(mutex_);
    EXPECT_EQ(ready_[1].request, "GET /metrics HTTP/1.1\r\n\r\n");
    EXPECT_TRUE(ready_[1].priority);
  }
  // A head over max_head is refused by the gate, through TLS: 431, then the close.
  TlsClient big(port_, FromHost(2));
  ASSERT_TRUE(big.Handshake());
  const std::string answer =
      big.Exchange("GET / HTTP/1.1\r\nX: " + std::string(2000, 'a') + "\r\n\r\n");
  EXPECT_EQ(StatusOf(answer), 431) << answer;
  EXPECT_TRUE(big.Closed());
  // The per-client cap: a third connection from 127.0.0.3 closes that client's oldest waiting.
  TlsClient first(port_, FromHost(3));
  ASSERT_TRUE(first.Handshake());
  TlsClient second(port_, FromHost(3));
  ASSERT_TRUE(second.Handshake());
  TlsClient third(port_, FromHost(3));
  ASSERT_TRUE(third.Handshake());
  EXPECT_TRUE(first.Closed());
  std::lock_guard lock(mutex_);
  EXPECT_EQ(ready_.size(), 2U) << "nothing else reached a worker";
}

}  // namespace
}  // namespace mtasts::agent
