#pragma once

#include <map>
#include <optional>
#include <string>

#include "base/result.h"

namespace mtasts::config {

/// `tls_server_config` of the web configuration file (README "Web configuration"): the
/// listener's certificate and key, and whether and how clients must show one. Paths are absolute
/// (a relative one in the file is taken from the file's directory). Plain strings: the agent
/// turns them into its TLS context.
struct WebTlsSettings {
  std::string cert_file;
  std::string key_file;
  std::string client_auth_type = "NoClientCert";  // the exporter-toolkit's names
  std::string client_ca_file;
  std::string min_version = "TLS12";  // TLS10 … TLS13
  std::string max_version;            // empty: the highest the library has

  bool operator==(const WebTlsSettings&) const = default;
};

/// The Prometheus exporter-toolkit web configuration (`--web.config.file`, README "Web
/// configuration"): TLS, basic authentication and extra response headers for the whole
/// listener. Default: plain HTTP, nobody asked for a password, no extra header.
struct WebConfig {
  std::string path;                            // where it was read from; empty: no file
  std::optional<WebTlsSettings> tls;           // nullopt: plain HTTP
  std::map<std::string, std::string> users;    // basic_auth_users: name -> bcrypt hash
  std::map<std::string, std::string> headers;  // http_server_config.headers

  bool operator==(const WebConfig&) const = default;
};

/// Reads and validates a web configuration file with the exporter-toolkit's keys and meaning.
/// Errors are "FILE:LINE: key: reason". Refused: unknown keys (the toolkit is strict), a key
/// repeated within one mapping, wrong types, the toolkit keys this exporter does not implement
/// ("not supported": `cert`, `key`, `client_ca`, `cipher_suites`, `curve_preferences`,
/// `client_allowed_sans`, `rate_limit`), a `basic_auth_users` value that is not a bcrypt hash,
/// a header the toolkit does not let one set (or a value outside its choices), and
/// `tls_server_config` without cert_file or key_file, with an unknown client_auth_type or TLS
/// version, with a client_ca_file but no client_auth_type, or naming a file it cannot read.
/// `http2` and `prefer_server_cipher_suites` are accepted and change nothing (HTTP/1.1 only;
/// OpenSSL picks the cipher). An empty file is valid (nothing changes). Never throws.
Result<WebConfig> LoadWebConfig(const std::string& path);

/// The same from text; relative paths are taken from `path`'s directory, which messages name.
Result<WebConfig> ParseWebConfig(const std::string& text, const std::string& path);

}  // namespace mtasts::config
