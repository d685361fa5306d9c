#include "collectors/net/certificate_verify.h"

#include <openssl/x509.h>
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

}  // namespace mtasts::net
