// The web configuration file (--web.config.file, README "Web configuration"): every key the
// exporter-toolkit has, read or refused with FILE:LINE: key: reason.
#include "config/web_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace mtasts::config {
namespace {

namespace fs = std::filesystem;

// A bcrypt hash of the right form (its password does not matter to the parser).
const std::string kHash = "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi";

/// A directory holding web.yml's neighbours: server.crt, server.key, ca.crt (any bytes: the
/// parser only checks they can be read; the agent loads them).
class WebConfigTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("mtasts-webcfg-" + std::to_string(getpid()));
    fs::create_directories(dir_ / "sub");
    for (const char* name : {"server.crt", "server.key", "ca.crt", "sub/other.crt"}) {
      std::ofstream(dir_ / name) << "x\n";
    }
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Path() const { return (dir_ / "web.yml").string(); }
  std::string In(const std::string& name) const { return (dir_ / name).string(); }

  WebConfig Good(const std::string& text) const {
    auto parsed = ParseWebConfig(text, Path());
    if (!parsed) {
      ADD_FAILURE() << parsed.error().message;
      return {};
    }
    return parsed.value();
  }
  /// The message after "PATH:".
  std::string Bad(const std::string& text) const {
    auto parsed = ParseWebConfig(text, Path());
    if (parsed) return "(accepted)";
    const std::string& message = parsed.error().message;
    const std::string prefix = Path() + ":";
    if (message.rfind(prefix, 0) != 0) return "(no file name) " + message;
    return message.substr(prefix.size());
  }

  fs::path dir_;
};

TEST_F(WebConfigTest, AnEmptyFileChangesNothing) {
  for (const char* text : {"", "# nothing\n", "---\n"}) {
    const WebConfig web = Good(text);
    EXPECT_FALSE(web.tls) << text;
    EXPECT_TRUE(web.users.empty());
    EXPECT_TRUE(web.headers.empty());
    EXPECT_EQ(web.path, Path());
  }
  const WebConfig sections = Good("tls_server_config:\nhttp_server_config:\nbasic_auth_users:\n");
  EXPECT_FALSE(sections.tls);
  EXPECT_TRUE(sections.users.empty());
}

TEST_F(WebConfigTest, EveryKeyRead) {
  const WebConfig web = Good(
      "tls_server_config:\n"
      "  cert_file: server.crt\n"  // relative: from the file's directory
      "  key_file: " +
      In("server.key") +
      "\n"  // absolute: as it is
      "  client_auth_type: RequireAndVerifyClientCert\n"
      "  client_ca_file: sub/other.crt\n"
      "  min_version: TLS13\n"
      "  max_version: TLS13\n"
      "  prefer_server_cipher_suites: false\n"
      "http_server_config:\n"
      "  http2: false\n"
      "  headers:\n"
      "    X-Frame-Options: deny\n"
      "    X-Content-Type-Options: nosniff\n"
      "    Strict-Transport-Security: max-age=31536000\n"
      "    X-XSS-Protection: 1; mode=block\n"
      "    Content-Security-Policy: default-src 'self'\n"
      "basic_auth_users:\n"
      "  alice: " +
      kHash +
      "\n"
      "  bob: '$2b$04$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi'\n");
  ASSERT_TRUE(web.tls);
  EXPECT_EQ(web.tls->cert_file, In("server.crt"));
  EXPECT_EQ(web.tls->key_file, In("server.key"));
  EXPECT_EQ(web.tls->client_auth_type, "RequireAndVerifyClientCert");
  EXPECT_EQ(web.tls->client_ca_file, In("sub/other.crt"));
  EXPECT_EQ(web.tls->min_version, "TLS13");
  EXPECT_EQ(web.tls->max_version, "TLS13");
  EXPECT_EQ(web.headers.size(), 5U);
  EXPECT_EQ(web.headers.at("X-Frame-Options"), "deny");
  EXPECT_EQ(web.headers.at("Content-Security-Policy"), "default-src 'self'");
  EXPECT_EQ(web.users.size(), 2U);
  EXPECT_EQ(web.users.at("alice"), kHash);
}

TEST_F(WebConfigTest, TlsDefaultsAndClientAuthTypes) {
  const WebConfig plain =
      Good("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n");
  ASSERT_TRUE(plain.tls);
  EXPECT_EQ(plain.tls->client_auth_type, "NoClientCert");
  EXPECT_EQ(plain.tls->min_version, "TLS12");
  EXPECT_EQ(plain.tls->max_version, "");
  const std::string base = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n";
  for (const char* type : {"NoClientCert", "RequestClientCert", "RequireAnyClientCert"}) {
    EXPECT_EQ(Good(base + "  client_auth_type: " + type + "\n").tls->client_auth_type, type);
  }
  // The toolkit's old name, kept by it for backward compatibility.
  EXPECT_EQ(Good(base + "  client_auth_type: RequireClientCert\n").tls->client_auth_type,
            "RequireAnyClientCert");
  EXPECT_EQ(Good(base + "  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ca.crt\n")
                .tls->client_auth_type,
            "VerifyClientCertIfGiven");
  for (const char* version : {"TLS10", "TLS11", "TLS12", "TLS13"}) {
    EXPECT_EQ(Good(base + "  min_version: " + version + "\n").tls->min_version, version);
  }
  // As the toolkit: TLS is on only with a file or a client auth type; a version alone is not.
  EXPECT_FALSE(Good("tls_server_config:\n  min_version: TLS13\n").tls);
}

TEST_F(WebConfigTest, LoadReadsTheFileAndNamesIt) {
  std::ofstream(Path()) << "basic_auth_users:\n  alice: " << kHash << "\n";
  auto loaded = LoadWebConfig(Path());
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded.value().users.size(), 1U);
  auto missing = LoadWebConfig(In("nope.yml"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message,
            In("nope.yml") + ": cannot read the web config file: No such file or directory");
  std::ofstream(Path()) << std::string((1 << 20) + 1, '#');
  EXPECT_EQ(LoadWebConfig(Path()).error().message,
            Path() + ": the web config file is larger than 1 MiB");
}

struct BadCase {
  std::string text;
  std::string message;
};

TEST_F(WebConfigTest, EveryRefusalNamesLineAndKey) {
  const std::string tls = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n";
  const BadCase cases[] = {
      {"- a\n", "1: expected a mapping, got a list"},
      {"tls_server_config: [\n", "2: not valid YAML: end of sequence flow not found"},
      {"web: 1\n",
       "1: web: unknown key (known here: basic_auth_users, http_server_config, tls_server_config)"},
      {"basic_auth_users:\n  a: " + kHash + "\nbasic_auth_users:\n",
       "3: basic_auth_users: duplicate key"},
      // The toolkit's keys this exporter does not implement.
      {"rate_limit:\n  burst: 1\n",
       "1: rate_limit: not supported: the exporter's own rate limits apply (api.rate_limit)"},
      {tls + "  cert: x\n",
       "4: tls_server_config.cert: not supported: give the certificate in cert_file"},
      {tls + "  key: x\n", "4: tls_server_config.key: not supported: give the key in key_file"},
      {tls + "  client_ca: x\n",
       "4: tls_server_config.client_ca: not supported: give the CAs in client_ca_file"},
      {tls + "  cipher_suites: [TLS_AES_128_GCM_SHA256]\n",
       "4: tls_server_config.cipher_suites: not supported: the TLS library's default suites are "
       "served"},
      {tls + "  curve_preferences: [X25519]\n",
       "4: tls_server_config.curve_preferences: not supported: the TLS library's default groups "
       "are offered"},
      {tls + "  client_allowed_sans: [a]\n",
       "4: tls_server_config.client_allowed_sans: not supported"},
      // tls_server_config
      {tls + "  certfile: x\n",
       "4: tls_server_config.certfile: unknown key (known here: cert_file, client_auth_type, "
       "client_ca_file, key_file, max_version, min_version, prefer_server_cipher_suites)"},
      {"tls_server_config:\n  key_file: server.key\n",
       "1: tls_server_config: missing key \"cert_file\""},
      {"tls_server_config:\n  cert_file: server.crt\n",
       "1: tls_server_config: missing key \"key_file\""},
      {"tls_server_config:\n  cert_file: server.crt\n  key_file: ''\n",
       "3: tls_server_config.key_file: must not be empty"},
      {"tls_server_config:\n  cert_file: nope.crt\n  key_file: server.key\n",
       "2: tls_server_config.cert_file: cannot read \"" + In("nope.crt") +
           "\": No such file or directory"},
      {"tls_server_config:\n  cert_file: sub\n  key_file: server.key\n",
       "2: tls_server_config.cert_file: cannot read \"" + In("sub") + "\": it is a directory"},
      {"tls_server_config:\n  cert_file: [a]\n",
       "2: tls_server_config.cert_file: expected a string, got a list"},
      {tls + "  client_auth_type: Always\n",
       "4: tls_server_config.client_auth_type: unknown client auth type \"Always\" (NoClientCert, "
       "RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, "
       "RequireAndVerifyClientCert)"},
      {tls + "  client_ca_file: ca.crt\n",
       "4: tls_server_config.client_ca_file: a client CA without a client_auth_type that asks for "
       "a certificate"},
      {tls + "  client_auth_type: RequireAndVerifyClientCert\n",
       "4: tls_server_config.client_auth_type: RequireAndVerifyClientCert needs client_ca_file "
       "(the CAs to verify clients by)"},
      {tls + "  min_version: TLS14\n",
       "4: tls_server_config.min_version: unknown TLS version \"TLS14\" (TLS10, TLS11, TLS12, "
       "TLS13)"},
      {tls + "  max_version: SSL3\n",
       "4: tls_server_config.max_version: unknown TLS version \"SSL3\" (TLS10, TLS11, TLS12, "
       "TLS13)"},
      {tls + "  min_version: TLS13\n  max_version: TLS12\n",
       "1: tls_server_config: max_version TLS12 is below min_version TLS13"},
      {tls + "  prefer_server_cipher_suites: yes\n",
       "4: tls_server_config.prefer_server_cipher_suites: expected true or false, got \"yes\""},
      // http_server_config
      {"http_server_config:\n  http2: 'false'\n",
       "2: http_server_config.http2: expected true or false, got \"false\""},
      {"http_server_config:\n  header: {}\n",
       "2: http_server_config.header: unknown key (known here: headers, http2)"},
      {"http_server_config:\n  headers:\n    Server: x\n",
       "3: http_server_config.headers.Server: this header cannot be configured (only "
       "Content-Security-Policy, Strict-Transport-Security, X-Content-Type-Options, "
       "X-Frame-Options, X-XSS-Protection)"},
      {"http_server_config:\n  headers:\n    x-frame-options: deny\n",
       "3: http_server_config.headers.x-frame-options: this header cannot be configured (only "
       "Content-Security-Policy, Strict-Transport-Security, X-Content-Type-Options, "
       "X-Frame-Options, X-XSS-Protection)"},
      {"http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
       "3: http_server_config.headers.X-Frame-Options: invalid value \"allow\" (one of: deny, "
       "sameorigin)"},
      {"http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n",
       "3: http_server_config.headers.X-Content-Type-Options: invalid value \"sniff\" (one of: "
       "nosniff)"},
      {"http_server_config:\n  headers:\n    X-XSS-Protection: \"1\\r\\nSet-Cookie: a=b\"\n",
       "3: http_server_config.headers.X-XSS-Protection: a header value must be one non-empty "
       "line"},
      {"http_server_config:\n  headers: [a]\n",
       "2: http_server_config.headers: expected a mapping, got a list"},
      // basic_auth_users
      {"basic_auth_users: [alice]\n", "1: basic_auth_users: expected a mapping, got a list"},
      {"basic_auth_users:\n  alice: secret\n",
       "2: basic_auth_users.alice: not a bcrypt hash ($2y$, $2b$ or $2a$, cost 04-31, 60 "
       "characters; make one with htpasswd -nbBC 10 USER PASSWORD)"},
      {"basic_auth_users:\n  alice: "
       "'$2y$03$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi'\n",
       "2: basic_auth_users.alice: not a bcrypt hash ($2y$, $2b$ or $2a$, cost 04-31, 60 "
       "characters; make one with htpasswd -nbBC 10 USER PASSWORD)"},
      {"basic_auth_users:\n  alice: '$1$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi'\n",
       "2: basic_auth_users.alice: not a bcrypt hash ($2y$, $2b$ or $2a$, cost 04-31, 60 "
       "characters; make one with htpasswd -nbBC 10 USER PASSWORD)"},
      {"basic_auth_users:\n  alice: {a: b}\n",
       "2: basic_auth_users.alice: expected a bcrypt hash, got a mapping"},
      {"basic_auth_users:\n  'a:b': " + kHash + "\n",
       "2: basic_auth_users.a:b: a user name cannot hold ':' (basic authentication ends the name "
       "there)"},
  };
  for (const BadCase& c : cases) EXPECT_EQ(Bad(c.text), c.message) << c.text;
}

// The hash is as good as a password to whoever has the time: never in a message.
TEST_F(WebConfigTest, AHashIsNeverQuoted) {
  const std::string almost = kHash.substr(0, 59) + "!";
  const std::string message = Bad("basic_auth_users:\n  alice: '" + almost + "'\n");
  EXPECT_EQ(message.find(almost.substr(7)), std::string::npos) << message;
}

}  // namespace
}  // namespace mtasts::config
