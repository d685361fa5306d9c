#pragma once
// Shared by the integration tests that run the real daemon inside the test world.
#include <crypt.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <thread>

extern char** environ;

namespace mtasts::world {

using nlohmann::json;
namespace fs = std::filesystem;

inline std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

inline std::string PercentEncode(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '.' || c == '-') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

/// A bcrypt hash by libxcrypt at the lowest cost, for basic_auth_users of a web config (the
/// test's time is not bcrypt's to spend).
inline std::string Bcrypt(const std::string& password) {
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  if (crypt_gensalt_rn("$2b$", 4, nullptr, 0, setting, sizeof setting) == nullptr) return "";
  crypt_data data{};
  const char* hash = crypt_r(password.c_str(), setting, &data);
  return hash != nullptr ? hash : "";
}

/// A self-signed certificate for 127.0.0.1 (its own CA, for curl --cacert and Prometheus's
/// tls_config.ca_file) as DIR/NAME.crt and DIR/NAME.key; true when openssl made them.
inline bool SelfSignedLoopbackCert(const fs::path& dir, const std::string& name) {
  const std::string base = (dir / name).string();
  return std::system(("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                      "-days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout " +
                      base + ".key -out " + base + ".crt 2>/dev/null")
                         .c_str()) == 0;
}

inline int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

inline std::string Capture(const std::string& command, int* status = nullptr) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  char buf[4096];
  std::size_t n = 0;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  int raw = pclose(pipe);
  if (status != nullptr) *status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return out;
}

/// The metric value of the series whose line starts with `series` (name and labels), or -1.
inline double Value(const std::string& metrics, const std::string& series) {
  std::istringstream in(metrics);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

class Daemon {
 public:
  /// `host`: the address it listens on (the loopback unless a test needs another).
  Daemon(fs::path dir, int port, std::string host = "127.0.0.1")
      : dir_(std::move(dir)), port_(port), host_(std::move(host)) {}
  ~Daemon() { Kill(); }

  /// Starts the daemon on the test's config; `extra` flags are appended (e.g.
  /// --web.enable-lifecycle, which POST /-/reload needs).
  void Start(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = prefix_;
    args.insert(args.end(), {MTASTS_BINARY, "--config.file=" + (dir_ / "config.yaml").string(),
                             "--web.listen-address=" + host_ + ":" + std::to_string(port_),
                             "--log.level=debug"});
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    const std::string log = (dir_ / "daemon.log").string();
    posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ASSERT_EQ(posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&actions);
  }

  /// Runs the daemon through `prefix` (an absolute path and its arguments, e.g. setpriv to
  /// another user), which must exec it in the same process.
  void SetPrefix(std::vector<std::string> prefix) { prefix_ = std::move(prefix); }

  /// SIGTERM and wait; the exit status, or -1 when it had to be killed after `limit`.
  int Stop(std::chrono::seconds limit = std::chrono::seconds(10)) {
    if (pid_ <= 0) return -1;
    kill(pid_, SIGTERM);
    return Wait(limit);
  }

  /// Waits for the process to exit by itself; its exit status, or -1 (killed after `limit`).
  int Wait(std::chrono::seconds limit) {
    if (pid_ <= 0) return -1;
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = 0;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    Kill();
    return -1;
  }

  void Kill() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      pid_ = 0;
    }
  }
  void Signal(int signal) const { kill(pid_, signal); }
  pid_t pid() const { return pid_; }

  httplib::Result Get(const std::string& path, const httplib::Headers& headers = {}) const {
    httplib::Client client(host_, port_);
    client.set_read_timeout(15, 0);
    return client.Get(path, headers);
  }

  /// POST /-/reload (the daemon must run with --web.enable-lifecycle to honour it).
  httplib::Result Reload(const httplib::Headers& headers = {}) const {
    httplib::Client client("127.0.0.1", port_);
    client.set_read_timeout(15, 0);
    return client.Post("/-/reload", headers, "", "text/plain");
  }

  bool WaitReady(std::chrono::seconds limit = std::chrono::seconds(30)) const {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      auto res = Get("/-/ready");
      if (res && res->status == 200) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  std::string Log() const {
    std::ifstream in(dir_ / "daemon.log");
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

 private:
  fs::path dir_;
  int port_;
  std::string host_;
  std::vector<std::string> prefix_;
  pid_t pid_ = 0;
};

/// A report by Reporter-X for `domain` ending an hour ago (within any window): `failed` sessions
/// certificate-expired at mx1 of the domain, under the policy the test world serves.
inline std::string TlsRptFailureReport(const std::string& domain, const std::string& id,
                                       int failed) {
  const auto rfc3339 = [](std::time_t t) {
    std::tm tm{};
    gmtime_r(&t, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return std::string(text);
  };
  const std::time_t now = std::time(nullptr);
  nlohmann::json report = {
      {"organization-name", "Reporter-X"},
      {"date-range",
       {{"start-datetime", rfc3339(now - 86400)}, {"end-datetime", rfc3339(now - 3600)}}},
      {"contact-info", "tlsrpt@reporter-x.example"},
      {"report-id", id},
      {"policies",
       {{{"policy",
          {{"policy-type", "sts"},
           {"policy-string",
            {"version: STSv1", "mode: enforce", "mx: mx1." + domain, "mx: *.mail." + domain,
             "max_age: 604800"}},
           {"policy-domain", domain}}},
         {"summary",
          {{"total-successful-session-count", 100}, {"total-failure-session-count", failed}}},
         {"failure-details",
          {{{"result-type", "certificate-expired"},
            {"receiving-mx-hostname", "mx1." + domain},
            {"failed-session-count", failed}}}}}}}};
  return report.dump();
}

inline std::string NetworkSection() {
  return "network:\n  dns_servers: [\"" + Env("MTASTS_WORLD_DNS") +
         "\"]\n  ca_file: " + Env("MTASTS_WORLD_CA") + "\n  ssrf_allow_cidrs: [\"" +
         Env("MTASTS_WORLD_ALLOW_CIDR") + "\", \"" + Env("MTASTS_WORLD_ALLOW_CIDR6") +
         "\"]\n  check_timeout: 3s\n";
}

inline std::string ConfigText(const fs::path& dir, const std::vector<std::string>& domains,
                              const std::string& extra = "") {
  std::string text = "state_dir: " + (dir / "state").string() + "\n" + NetworkSection() +
                     "schedule:\n  min_interval: 5m\n  max_interval: 24h\n  dns_interval: 1h\n" +
                     extra + "domains:\n";
  for (const auto& d : domains) text += "  - " + d + "\n";
  return text;
}

/// An empty directory for the running test: PREFIX-PID-TESTNAME under the temp dir.
inline fs::path FreshTestDir(const std::string& prefix) {
  fs::path dir =
      fs::temp_directory_path() / (prefix + "-" + std::to_string(getpid()) + "-" +
                                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

inline void WriteFile(const fs::path& path, const std::string& text) {
  std::ofstream(path) << text;
}

/// Replaces a file whole (temp file, rename): a daemon reading it meanwhile sees old or new.
inline void ReplaceFile(const fs::path& path, const std::string& text) {
  const fs::path temp = path.string() + ".new";
  std::ofstream(temp) << text;
  fs::rename(temp, path);
}

/// Replaces the TXT records of `name` in the running world and waits until they are served
/// (tests/world/set-txt.sh: dnsmasq restarts). Each text is one character-string.
inline bool SetTxt(const std::string& name, const std::vector<std::string>& texts) {
  std::string command = Env("MTASTS_WORLD_SET_TXT") + " " + name;
  for (const auto& text : texts) command += " '" + text + "'";
  int status = -1;
  const std::string out = Capture(command + " 2>&1", &status);
  if (status != 0) std::cerr << out;
  return status == 0;
}

}  // namespace mtasts::world
