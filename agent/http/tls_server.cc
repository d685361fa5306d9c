#include "agent/http/tls_server.h"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <array>
#include <utility>

namespace mtasts::agent {
namespace {

/// OpenSSL's queued errors as one line (and the queue emptied), e.g. "No such file or directory".
std::string OpenSslReason() {
  std::string reason;
  while (const unsigned long code = ERR_get_error()) {
    std::array<char, 256> text{};
    ERR_error_string_n(code, text.data(), text.size());
    if (!reason.empty()) reason += "; ";
    reason += text.data();
  }
  return reason.empty() ? "unknown error" : reason;
}

Error FileError(const std::string& what, const std::string& file) {
  return Error{what + " \"" + file + "\": " + OpenSslReason()};
}

Result<int> Version(const std::string& name, const char* setting) {
  if (name == "TLS10") return TLS1_VERSION;
  if (name == "TLS11") return TLS1_1_VERSION;
  if (name == "TLS12") return TLS1_2_VERSION;
  if (name == "TLS13") return TLS1_3_VERSION;
  return Error{std::string(setting) + " \"" + name + "\": expected TLS10, TLS11, TLS12 or TLS13"};
}

/// Request/RequireAny: a client certificate is asked for but not verified (as Go's crypto/tls,
/// which the exporter-toolkit's names come from).
int AcceptAnyCertificate(int /*preverify*/, X509_STORE_CTX* /*store*/) {
  return 1;
}

}  // namespace

Result<std::shared_ptr<const TlsServerContext>> TlsServerContext::Load(
    const TlsServerSettings& settings) {
  ERR_clear_error();
  if (settings.cert_file.empty() || settings.key_file.empty()) {
    return Error{"TLS needs both cert_file and key_file"};
  }
  std::unique_ptr<SSL_CTX, CtxFree> ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) return Error{"cannot create a TLS context: " + OpenSslReason()};
  SSL_CTX* c = ctx.get();

  auto min = Version(settings.min_version.empty() ? "TLS12" : settings.min_version, "min_version");
  if (!min) return min.error();
  int max = 0;
  if (!settings.max_version.empty()) {
    auto parsed = Version(settings.max_version, "max_version");
    if (!parsed) return parsed.error();
    max = parsed.value();
    if (max < min.value()) {
      return Error{"max_version \"" + settings.max_version + "\" is below min_version \"" +
                   settings.min_version + "\""};
    }
  }
  SSL_CTX_set_min_proto_version(c, min.value());
  SSL_CTX_set_max_proto_version(c, max);
  SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // Partial writes: a worker writes through poll() and a deadline (Listener).
  SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);

  if (SSL_CTX_use_certificate_chain_file(c, settings.cert_file.c_str()) != 1) {
    return FileError("cert_file", settings.cert_file);
  }
  if (SSL_CTX_use_PrivateKey_file(c, settings.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return FileError("key_file", settings.key_file);
  }
  if (SSL_CTX_check_private_key(c) != 1) {
    return Error{"key_file \"" + settings.key_file + "\" does not match cert_file \"" +
                 settings.cert_file + "\": " + OpenSslReason()};
  }

  const std::string& auth = settings.client_auth_type;
  const bool verify = auth == "VerifyClientCertIfGiven" || auth == "RequireAndVerifyClientCert";
  if (auth.empty() || auth == "NoClientCert") {
    SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);
  } else if (auth == "RequestClientCert") {
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER, AcceptAnyCertificate);
  } else if (auth == "RequireAnyClientCert") {
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, AcceptAnyCertificate);
  } else if (auth == "VerifyClientCertIfGiven") {
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr);
  } else if (auth == "RequireAndVerifyClientCert") {
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  } else {
    return Error{"client_auth_type \"" + auth +
                 "\": expected NoClientCert, RequestClientCert, RequireAnyClientCert, "
                 "VerifyClientCertIfGiven or RequireAndVerifyClientCert"};
  }
  if (verify && settings.client_ca_file.empty()) {
    return Error{"client_auth_type \"" + auth + "\" needs client_ca_file"};
  }
  if (!settings.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(c, settings.client_ca_file.c_str(), nullptr) != 1) {
      return FileError("client_ca_file", settings.client_ca_file);
    }
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(settings.client_ca_file.c_str());
    if (names == nullptr) return FileError("client_ca_file", settings.client_ca_file);
    SSL_CTX_set_client_CA_list(c, names);
  }
  // Resumed sessions keep the verification of the first handshake; OpenSSL refuses to resume a
  // verified session without a context id.
  static constexpr unsigned char kSessionContext[] = "mta-sts-exporter";
  SSL_CTX_set_session_id_context(c, kSessionContext, sizeof kSessionContext - 1);
  return std::shared_ptr<const TlsServerContext>(new TlsServerContext(std::move(ctx), settings));
}

}  // namespace mtasts::agent
