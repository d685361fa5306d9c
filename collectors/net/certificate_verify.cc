#include "collectors/net/certificate_verify.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <ctime>

namespace mtasts::net {
namespace {

std::string NameOneLine(const X509_NAME* name) {
  if (name == nullptr) return "";
  BIO* bio = BIO_new(BIO_s_mem());
  X509_NAME_print_ex(bio, name, 0, XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(len));
  BIO_free(bio);
  return out;
}

}  // namespace

CertificateInfo DescribeLeaf(X509* leaf) {
  CertificateInfo info;
  if (leaf == nullptr) return info;
  info.subject = NameOneLine(X509_get_subject_name(leaf));
  info.issuer = NameOneLine(X509_get_issuer_name(leaf));
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(leaf, NID_subject_alt_name, nullptr, nullptr));
  if (names != nullptr) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
      if (name->type != GEN_DNS) continue;
      const unsigned char* data = ASN1_STRING_get0_data(name->d.dNSName);
      info.dns_names.emplace_back(reinterpret_cast<const char*>(data),
                                  static_cast<std::size_t>(ASN1_STRING_length(name->d.dNSName)));
    }
    GENERAL_NAMES_free(names);
  }
  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(leaf), &tm) == 1) info.not_after = timegm(&tm);
  return info;
}

CertificateInfo VerifyCertificateFor(X509* leaf, STACK_OF(X509) * untrusted, X509_STORE* store,
                                     std::string_view host) {
  CertificateInfo info = DescribeLeaf(leaf);
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  int ok = 0;
  int error = X509_V_ERR_UNSPECIFIED;
  if (ctx != nullptr && leaf != nullptr && X509_STORE_CTX_init(ctx, store, leaf, untrusted) == 1) {
    X509_STORE_CTX_set_default(ctx, "ssl_server");
    X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx);
    // DNS-ID only, never the subject CN; a wildcard only as the whole left-most label.
    X509_VERIFY_PARAM_set_hostflags(
        param, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT | X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    X509_VERIFY_PARAM_set1_host(param, host.data(), host.size());
    ok = X509_verify_cert(ctx);
    error = X509_STORE_CTX_get_error(ctx);
  }
  if (ctx != nullptr) X509_STORE_CTX_free(ctx);
  info.verified = ok == 1;
  info.verify_code = ok == 1 ? X509_V_OK : error;
  if (!info.verified) info.verify_error = X509_verify_cert_error_string(error);
  return info;
}

std::string FormatCertificateDate(std::int64_t unix_seconds) {
  std::time_t t = unix_seconds;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string JoinCertificateNames(const std::vector<std::string>& names) {
  if (names.empty()) return "no DNS name (subjectAltName)";
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < 5; ++i) {
    if (i > 0) out += ", ";
    out += names[i];
  }
  if (names.size() > 5) out += " and " + std::to_string(names.size() - 5) + " more";
  return out;
}

std::string DescribeCertificateFailure(std::string_view where, std::string_view name,
                                       const CertificateInfo& cert, std::string_view rule) {
  const std::string peer(where);
  switch (cert.verify_code) {
    case X509_V_ERR_HOSTNAME_MISMATCH:
      return peer + " presents a certificate for " + JoinCertificateNames(cert.dns_names) +
             "; it must be valid for " + std::string(name) +
             (rule.empty() ? std::string() : " (" + std::string(rule) + ")");
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return "the certificate of " + peer + " expired" +
             (cert.not_after ? " on " + FormatCertificateDate(*cert.not_after) : std::string());
    case X509_V_ERR_CERT_NOT_YET_VALID: return "the certificate of " + peer + " is not valid yet";
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
      return peer + " presents a self-signed certificate (" + cert.subject +
             "); it must chain to a trusted root";
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      return "the certificate chain of " + peer +
             " does not lead to a trusted root (issuer: " + cert.issuer + ")";
    default: return "the certificate of " + peer + " is not valid: " + cert.verify_error;
  }
}

std::string DrainOpenSslErrors(std::string_view when_none) {
  std::string out;
  while (unsigned long code = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? std::string(when_none) : out;
}

}  // namespace mtasts::net
