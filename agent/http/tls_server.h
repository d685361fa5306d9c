#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "base/result.h"

namespace mtasts::agent {

/// How the listener serves HTTPS, as the exporter-toolkit's `tls_server_config` reads (README
/// "HTTP endpoints"): the certificate chain and its key, whether and how clients authenticate,
/// and the protocol versions.
struct TlsServerSettings {
  std::string cert_file;                          // PEM: the certificate, then its chain
  std::string key_file;                           // PEM
  std::string client_auth_type = "NoClientCert";  // NoClientCert | RequestClientCert |
                                                  // RequireAnyClientCert | VerifyClientCertIfGiven
                                                  // | RequireAndVerifyClientCert
  std::string client_ca_file;                     // required by the two Verify* types
  std::string min_version = "TLS12";              // TLS10 | TLS11 | TLS12 | TLS13
  std::string max_version;                        // empty: no maximum
};

/// An SSL_CTX for serving, loaded from the files once; immutable after Load, so connections on
/// any thread may make their SSL from it. Renegotiation is refused (a client could otherwise
/// make the gate's thread redo handshakes at will); session tickets are allowed.
class TlsServerContext {
 public:
  /// Errors name the file (or the setting) and OpenSSL's reason.
  static Result<std::shared_ptr<const TlsServerContext>> Load(const TlsServerSettings& settings);

  SSL_CTX* ctx() const { return ctx_.get(); }
  const TlsServerSettings& settings() const { return settings_; }

  struct CtxFree {
    void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
  };

 private:
  TlsServerContext(std::unique_ptr<SSL_CTX, CtxFree> ctx, TlsServerSettings settings)
      : ctx_(std::move(ctx)), settings_(std::move(settings)) {}

  std::unique_ptr<SSL_CTX, CtxFree> ctx_;
  TlsServerSettings settings_;
};

/// One connection's TLS session (the gate's; a worker borrows it while it answers).
struct SslFree {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};
using UniqueSsl = std::unique_ptr<SSL, SslFree>;

}  // namespace mtasts::agent
