#include "config/web_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>
#include <string_view>
#include <utility>
#include <vector>

namespace mtasts::config {
namespace {

/// Far more than any web config; what is read is held whole.
constexpr std::size_t kMaxFileSize = std::size_t{1} << 20;
constexpr std::size_t kMaxQuotedWebValue = 100;

/// Thrown inside this file only; ParseWebConfig turns it into an Error.
class WebConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::string QuoteWebValue(std::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text.substr(0, kMaxQuotedWebValue)) {
    if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
      constexpr std::string_view kHex = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (text.size() > kMaxQuotedWebValue) out += "...";
  return out + "\"";
}

/// One key of a mapping, its value and where the key stands.
struct Entry {
  std::string name;
  std::string path;  // "tls_server_config.cert_file"
  YAML::Node value;
  YAML::Mark mark;
};

/// The toolkit's keys that this exporter does not implement, and why.
const std::map<std::string, std::string>& Unsupported() {
  static const std::map<std::string, std::string> kKeys = {
      {"tls_server_config.cert", "not supported: give the certificate in cert_file"},
      {"tls_server_config.key", "not supported: give the key in key_file"},
      {"tls_server_config.client_ca", "not supported: give the CAs in client_ca_file"},
      {"tls_server_config.cipher_suites",
       "not supported: the TLS library's default suites are served"},
      {"tls_server_config.curve_preferences",
       "not supported: the TLS library's default groups are offered"},
      {"tls_server_config.client_allowed_sans", "not supported"},
      {"rate_limit", "not supported: the exporter's own rate limits apply (api.rate_limit)"},
  };
  return kKeys;
}

/// The headers http_server_config.headers may set, and the values allowed where the toolkit
/// restricts them (an empty list: any value).
const std::map<std::string, std::vector<std::string>>& AllowedHeaders() {
  static const std::map<std::string, std::vector<std::string>> kHeaders = {
      {"Content-Security-Policy", {}},
      {"Strict-Transport-Security", {}},
      {"X-Content-Type-Options", {"nosniff"}},
      {"X-Frame-Options", {"deny", "sameorigin"}},
      {"X-XSS-Protection", {}},
  };
  return kHeaders;
}

/// A bcrypt hash as libxcrypt verifies it: $2a$, $2b$ or $2y$, a cost of 04 to 31, 53
/// characters of its base64 alphabet (salt and digest).
bool IsBcrypt(std::string_view hash) {
  if (hash.size() != 60 || hash.substr(0, 2) != "$2" || hash[3] != '$' || hash[6] != '$') {
    return false;
  }
  if (hash[2] != 'a' && hash[2] != 'b' && hash[2] != 'y') return false;
  if (hash[4] < '0' || hash[4] > '3' || hash[5] < '0' || hash[5] > '9') return false;
  const int cost = (hash[4] - '0') * 10 + (hash[5] - '0');
  if (cost < 4 || cost > 31) return false;
  return std::all_of(hash.begin() + 7, hash.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '/';
  });
}

class Parser {
 public:
  explicit Parser(std::string path) : path_(std::move(path)) {
    dir_ = std::filesystem::path(path_).parent_path();
  }

  [[noreturn]] void Fail(const YAML::Mark& mark, const std::string& key,
                         const std::string& message) const {
    std::string out = path_;
    if (!mark.is_null()) out += ":" + std::to_string(mark.line + 1);
    out += ": ";
    if (!key.empty()) out += key + ": ";
    throw WebConfigError(out + message);
  }
  [[noreturn]] void Fail(const Entry& entry, const std::string& message) const {
    Fail(entry.mark, entry.path, message);
  }

  WebConfig Parse(const std::string& text) {
    WebConfig config;
    config.path = path_;
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
      Fail(e.mark, "", "not valid YAML: " + e.msg);
    }
    if (!root.IsDefined() || root.IsNull()) return config;  // an empty file: nothing changes
    const Entry whole{"", "", root, root.Mark()};
    for (const Entry& entry :
         Mapping(whole, {"tls_server_config", "http_server_config", "basic_auth_users"})) {
      if (entry.name == "tls_server_config") {
        config.tls = Tls(entry);
      } else if (entry.name == "http_server_config") {
        config.headers = Http(entry);
      } else {
        config.users = Users(entry);
      }
    }
    return config;
  }

 private:
  /// The entries of a mapping (null: none), every key one of `known` and none repeated.
  std::vector<Entry> Mapping(const Entry& field, const std::set<std::string>& known) const {
    std::vector<Entry> entries;
    if (field.value.IsNull()) return entries;
    if (!field.value.IsMap()) Fail(field, "expected a mapping, got " + Describe(field.value));
    std::set<std::string> seen;
    for (const auto& item : field.value) {
      if (!item.first.IsScalar()) Fail(item.first.Mark(), field.path, "a key must be a name");
      const std::string& name = item.first.Scalar();
      const std::string path = field.path.empty() ? name : field.path + "." + name;
      Entry entry{name, path, item.second, item.first.Mark()};
      if (!seen.insert(name).second) Fail(entry, "duplicate key");
      if (auto it = Unsupported().find(path); it != Unsupported().end()) Fail(entry, it->second);
      if (!known.empty() && known.count(name) == 0) {
        std::string list;
        for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
        Fail(entry, "unknown key (known here: " + list + ")");
      }
      entries.push_back(std::move(entry));
    }
    return entries;
  }

  static std::string Describe(const YAML::Node& node) {
    if (node.IsSequence()) return "a list";
    if (node.IsMap()) return "a mapping";
    if (node.IsScalar()) return QuoteWebValue(node.Scalar());
    return "nothing";
  }

  std::string String(const Entry& entry) const {
    if (!entry.value.IsScalar()) Fail(entry, "expected a string, got " + Describe(entry.value));
    return entry.value.Scalar();
  }

  bool Boolean(const Entry& entry) const {
    if (entry.value.IsScalar() && entry.value.Tag() != "!") {
      if (entry.value.Scalar() == "true") return true;
      if (entry.value.Scalar() == "false") return false;
    }
    Fail(entry, "expected true or false, got " + Describe(entry.value));
  }

  /// A file named in the config: relative to the config's directory, and readable now.
  std::string File(const Entry& entry) const {
    std::string value = String(entry);
    if (value.empty()) return value;
    std::filesystem::path file(value);
    if (file.is_relative()) file = dir_ / file;
    std::error_code ec;
    if (std::filesystem::is_directory(file, ec)) {
      Fail(entry, "cannot read " + QuoteWebValue(file.string()) + ": it is a directory");
    }
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      const int error = errno;
      Fail(entry, "cannot read " + QuoteWebValue(file.string()) + ": " + std::strerror(error));
    }
    return file.string();
  }

  std::optional<WebTlsSettings> Tls(const Entry& section) const {
    WebTlsSettings tls;
    const Entry* cert = nullptr;
    const Entry* key = nullptr;
    const Entry* auth = nullptr;
    const Entry* ca = nullptr;
    const auto entries =
        Mapping(section, {"cert_file", "key_file", "client_auth_type", "client_ca_file",
                          "min_version", "max_version", "prefer_server_cipher_suites"});
    for (const Entry& entry : entries) {
      if (entry.name == "cert_file") {
        tls.cert_file = File(entry);
        cert = &entry;
      } else if (entry.name == "key_file") {
        tls.key_file = File(entry);
        key = &entry;
      } else if (entry.name == "client_ca_file") {
        tls.client_ca_file = File(entry);
        ca = &entry;
      } else if (entry.name == "client_auth_type") {
        tls.client_auth_type = ClientAuth(entry);
        auth = &entry;
      } else if (entry.name == "min_version") {
        tls.min_version = Version(entry);
      } else if (entry.name == "max_version") {
        tls.max_version = Version(entry);
      } else {
        (void)Boolean(entry);  // prefer_server_cipher_suites: the library's order is kept
      }
    }
    // As the toolkit: only these keys turn TLS on (min_version alone does not).
    const bool enabled = !tls.cert_file.empty() || !tls.key_file.empty() ||
                         !tls.client_ca_file.empty() ||
                         (auth != nullptr && !auth->value.Scalar().empty());
    if (!enabled) return std::nullopt;  // the toolkit then serves plain HTTP
    if (tls.cert_file.empty()) {
      Fail(cert != nullptr ? *cert : section,
           cert != nullptr ? "must not be empty" : "missing key \"cert_file\"");
    }
    if (tls.key_file.empty()) {
      Fail(key != nullptr ? *key : section,
           key != nullptr ? "must not be empty" : "missing key \"key_file\"");
    }
    const bool verifies = tls.client_auth_type == "VerifyClientCertIfGiven" ||
                          tls.client_auth_type == "RequireAndVerifyClientCert";
    if (!tls.client_ca_file.empty() && tls.client_auth_type == "NoClientCert") {
      Fail(*ca, "a client CA without a client_auth_type that asks for a certificate");
    }
    if (verifies && tls.client_ca_file.empty()) {
      Fail(*auth, tls.client_auth_type + " needs client_ca_file (the CAs to verify clients by)");
    }
    if (!tls.max_version.empty() && tls.max_version < tls.min_version) {
      Fail(section, "max_version " + tls.max_version + " is below min_version " + tls.min_version);
    }
    return tls;
  }

  std::string ClientAuth(const Entry& entry) const {
    std::string value = String(entry);
    if (value.empty() || value == "NoClientCert") return "NoClientCert";
    if (value == "RequireClientCert") return "RequireAnyClientCert";  // the toolkit's old name
    if (value == "RequestClientCert" || value == "RequireAnyClientCert" ||
        value == "VerifyClientCertIfGiven" || value == "RequireAndVerifyClientCert") {
      return value;
    }
    Fail(entry, "unknown client auth type " + QuoteWebValue(value) +
                    " (NoClientCert, RequestClientCert, RequireAnyClientCert, "
                    "VerifyClientCertIfGiven, RequireAndVerifyClientCert)");
  }

  std::string Version(const Entry& entry) const {
    std::string value = String(entry);
    if (value == "TLS10" || value == "TLS11" || value == "TLS12" || value == "TLS13") return value;
    Fail(entry, "unknown TLS version " + QuoteWebValue(value) + " (TLS10, TLS11, TLS12, TLS13)");
  }

  std::map<std::string, std::string> Http(const Entry& section) const {
    std::map<std::string, std::string> headers;
    for (const Entry& entry : Mapping(section, {"http2", "headers"})) {
      if (entry.name == "http2") {
        (void)Boolean(entry);  // HTTP/1.1 is all the listener speaks, either way
        continue;
      }
      for (const Entry& header : Mapping(entry, {})) {
        auto allowed = AllowedHeaders().find(header.name);
        if (allowed == AllowedHeaders().end()) {
          std::string list;
          for (const auto& [name, values] : AllowedHeaders())
            list += (list.empty() ? "" : ", ") + name;
          Fail(header, "this header cannot be configured (only " + list + ")");
        }
        const std::string value = String(header);
        const auto& values = allowed->second;
        if (!values.empty() && std::find(values.begin(), values.end(), value) == values.end()) {
          std::string list;
          for (const auto& v : values) list += (list.empty() ? "" : ", ") + v;
          Fail(header, "invalid value " + QuoteWebValue(value) + " (one of: " + list + ")");
        }
        if (value.find_first_of("\r\n") != std::string::npos || value.empty()) {
          Fail(header, "a header value must be one non-empty line");
        }
        headers[header.name] = value;
      }
    }
    return headers;
  }

  std::map<std::string, std::string> Users(const Entry& section) const {
    std::map<std::string, std::string> users;
    for (const Entry& entry : Mapping(section, {})) {
      if (entry.name.find(':') != std::string::npos) {
        Fail(entry, "a user name cannot hold ':' (basic authentication ends the name there)");
      }
      if (!entry.value.IsScalar())
        Fail(entry, "expected a bcrypt hash, got " + Describe(entry.value));
      const std::string& hash = entry.value.Scalar();
      // The hash is not shown: it is as good as a password to anyone who can spend the time.
      if (!IsBcrypt(hash)) {
        Fail(entry,
             "not a bcrypt hash ($2y$, $2b$ or $2a$, cost 04-31, 60 characters; "
             "make one with htpasswd -nbBC 10 USER PASSWORD)");
      }
      users[entry.name] = hash;
    }
    return users;
  }

  std::string path_;
  std::filesystem::path dir_;
};

}  // namespace

Result<WebConfig> ParseWebConfig(const std::string& text, const std::string& path) {
  try {
    return Parser(path).Parse(text);
  } catch (const WebConfigError& e) {
    return Error{e.what()};
  } catch (const YAML::Exception& e) {
    return Error{path + ": not valid YAML: " + e.msg};
  }
}

Result<WebConfig> LoadWebConfig(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return Error{path + ": cannot read the web config file: it is a directory"};
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int error = errno;
    return Error{path + ": cannot read the web config file: " + std::strerror(error)};
  }
  std::string text(kMaxFileSize + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return Error{path + ": cannot read the web config file"};
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxFileSize) {
    return Error{path + ": the web config file is larger than 1 MiB"};
  }
  return ParseWebConfig(text, path);
}

}  // namespace mtasts::config
