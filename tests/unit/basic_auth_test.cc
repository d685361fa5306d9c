// basic_auth_users and http_server_config.headers of the web configuration (README "Web
// configuration") on the daemon's listener, without a socket (HttpServer::ServeBytes), with
// bcrypt hashes made here by libxcrypt at the lowest cost.
#include "agent/http/basic_auth.h"

#include <crypt.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "agent/http/server.h"

namespace mtasts::agent {
namespace {

std::string Bcrypt(const std::string& password, int cost = 4) {
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  EXPECT_NE(crypt_gensalt_rn("$2b$", static_cast<unsigned long>(cost), nullptr, 0, setting,
                             sizeof setting),
            nullptr);
  auto data = std::make_unique<crypt_data>();
  const char* hash = crypt_r(password.c_str(), setting, data.get());
  EXPECT_NE(hash, nullptr);
  return hash;
}

TEST(BasicAuthorization, ParsesTheHeader) {
  // "alice:pass word:x" and "alice:" in base64.
  auto parsed = ParseBasicAuthorization("Basic YWxpY2U6cGFzcyB3b3JkOng=");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->first, "alice");
  EXPECT_EQ(parsed->second, "pass word:x") << "the password is everything after the first ':'";
  parsed = ParseBasicAuthorization("bAsIc   YWxpY2U6 ");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->first, "alice");
  EXPECT_EQ(parsed->second, "");
  for (const char* bad :
       {"", "Basic", "Basic ", "Bearer YWxpY2U6", "Basic YWxpY2U",
        "Basic YWxpY2U=", "Basic YW=xpY2U6", "Basic YWxp*2U6", "BasicYWxpY2U6", "Basic YWxpY2U="}) {
    EXPECT_FALSE(ParseBasicAuthorization(bad)) << bad;
  }
}

TEST(BasicAuth, VerifiesWithBcrypt) {
  BasicAuth auth;
  EXPECT_FALSE(auth.Enabled());
  auth.Configure({{"alice", Bcrypt("right")}, {"bob", Bcrypt("other")}});
  EXPECT_TRUE(auth.Enabled());
  EXPECT_TRUE(auth.Verify("alice", "right"));
  EXPECT_TRUE(auth.Verify("alice", "right")) << "remembered, and still right";
  EXPECT_FALSE(auth.Verify("alice", "wrong"));
  EXPECT_FALSE(auth.Verify("alice", "other")) << "bob's password is not alice's";
  EXPECT_FALSE(auth.Verify("carol", "right"));
  EXPECT_FALSE(auth.Verify("alice", std::string("right\0x", 7))) << "a NUL does not cut it";
  EXPECT_FALSE(auth.Verify("", ""));
  // A reload with a new hash forgets the remembered success.
  auth.Configure({{"alice", Bcrypt("new")}});
  EXPECT_FALSE(auth.Verify("alice", "right"));
  EXPECT_TRUE(auth.Verify("alice", "new"));
  EXPECT_FALSE(auth.Verify("bob", "other")) << "bob is gone";
  // $2y$ (htpasswd's) verifies too.
  std::string y = Bcrypt("why");
  y[2] = 'y';
  auth.Configure({{"y", y}});
  EXPECT_TRUE(auth.Verify("y", "why"));
}

HttpHandlers Handlers() {
  HttpHandlers h;
  h.metrics = [] { return std::make_shared<const MetricsPage>(GzipCompress("x 1\n")); };
  auto report = [](const std::string& domain) {
    DomainReport r;
    r.domain = domain;
    return r;
  };
  h.check = report;
  h.policy = report;
  h.ready = [] { return true; };
  return h;
}

config::ApiSettings Api() {
  config::ApiSettings api;
  api.rate_limit_per_minute = 1e6;
  api.rate_limit_burst = 1000;
  return api;
}

int StatusOf(const std::string& response) {
  if (response.rfind("HTTP/1.1 ", 0) != 0 || response.size() < 12) return 0;
  return std::stoi(response.substr(9, 3));
}

std::string Get(HttpServer& server, const std::string& path, const std::string& headers = "",
                const std::string& from = "127.0.0.1") {
  return server.ServeBytes("GET " + path + " HTTP/1.1\r\nHost: x\r\n" + headers + "\r\n", from);
}

// "alice:right", "alice:wrong", "carol:right" in base64.
const std::string kAlice = "Authorization: Basic YWxpY2U6cmlnaHQ=\r\n";
const std::string kWrong = "Authorization: Basic YWxpY2U6d3Jvbmc=\r\n";
const std::string kCarol = "Authorization: Basic Y2Fyb2w6cmlnaHQ=\r\n";

config::WebConfig Web() {
  config::WebConfig web;
  web.users = {{"alice", Bcrypt("right")}};
  web.headers = {{"X-Frame-Options", "deny"}, {"Strict-Transport-Security", "max-age=60"}};
  return web;
}

// As the toolkit: every path needs the user, /-/healthy and unknown ones included.
TEST(WebGuard, EveryEndpointNeedsAUser) {
  HttpServer server(Handlers(), Api());
  EXPECT_EQ(StatusOf(Get(server, "/-/healthy")), 200) << "no users: nothing asked";
  server.Configure(Web());
  for (const char* path : {"/", "/metrics", "/-/healthy", "/-/ready", "/v1/meta",
                           "/v1/check?domain=a.test", "/nothing"}) {
    const std::string refused = Get(server, path);
    EXPECT_EQ(StatusOf(refused), 401) << path << "\n" << refused;
    EXPECT_NE(refused.find("\r\nWWW-Authenticate: Basic\r\n"), std::string::npos) << refused;
    EXPECT_EQ(StatusOf(Get(server, path, kAlice)), std::string(path) == "/nothing" ? 404 : 200)
        << path;
  }
  EXPECT_EQ(StatusOf(server.ServeBytes("POST /-/reload HTTP/1.1\r\nContent-Length: 0\r\n\r\n")),
            401);
  // Off again on reload.
  server.Configure(config::WebConfig{});
  EXPECT_EQ(StatusOf(Get(server, "/-/healthy")), 200);
}

TEST(WebGuard, HeadersOnEveryAnswer) {
  HttpServer server(Handlers(), Api());
  server.Configure(Web());
  for (const std::string& response :
       {Get(server, "/metrics", kAlice), Get(server, "/metrics"), Get(server, "/nothing", kAlice),
        Get(server, "/v1/check", kAlice)}) {
    EXPECT_NE(response.find("\r\nX-Frame-Options: deny\r\n"), std::string::npos) << response;
    EXPECT_NE(response.find("\r\nStrict-Transport-Security: max-age=60\r\n"), std::string::npos)
        << response;
  }
}

// A wrong password spends the wrong-key budget the API keys spend (10 at once): then even the
// right one is not looked at, and other addresses are not affected.
TEST(WebGuard, WrongPasswordsSpendTheWrongKeyBudget) {
  HttpServer server(Handlers(), Api());
  server.Configure(Web());
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(StatusOf(Get(server, "/metrics", "", "192.0.2.1")), 401) << "none: not counted";
  }
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(StatusOf(Get(server, "/metrics", kWrong, "192.0.2.1")), 401);
    EXPECT_EQ(StatusOf(Get(server, "/metrics", kCarol, "192.0.2.1")), 401) << "unknown user";
  }
  const std::string limited = Get(server, "/metrics", kAlice, "192.0.2.1");
  EXPECT_EQ(StatusOf(limited), 429) << limited;
  EXPECT_NE(limited.find("\r\nRetry-After: "), std::string::npos) << limited;
  EXPECT_EQ(StatusOf(Get(server, "/metrics", kAlice, "198.51.100.1")), 200);
}

// With API keys as well, the paths behind them need both: the user first (the whole listener), then
// the key.
TEST(WebGuard, ApiKeysApplyAfterTheUser) {
  namespace fs = std::filesystem;
  const fs::path keys = fs::temp_directory_path() / ("mtasts-web-keys-" + std::to_string(getpid()));
  std::ofstream(keys) << "k1\n";
  config::ApiSettings api = Api();
  api.keys_file = keys.string();
  HttpServer server(Handlers(), api);
  fs::remove(keys);
  server.Configure(Web());
  const std::string check = "/v1/check?domain=a.test";
  EXPECT_EQ(StatusOf(Get(server, check, "x-api-key: k1\r\n")), 401);
  EXPECT_EQ(StatusOf(Get(server, check, kAlice)), 401);
  EXPECT_EQ(StatusOf(Get(server, check, kAlice + "x-api-key: k1\r\n")), 200);
  EXPECT_EQ(StatusOf(Get(server, "/metrics", kAlice)), 200) << "no key for /metrics";
}

}  // namespace
}  // namespace mtasts::agent
