// The daemon speaks systemd's notify protocol (sd_notify(3)): the real binary is run with
// NOTIFY_SOCKET pointing at a datagram socket this test owns, standing in for systemd.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

extern char** environ;

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

class NotifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "sdnotify.XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr) << std::strerror(errno);
    dir_ = tmpl;
    fs::create_directory(dir_ / "state");
    std::ofstream(dir_ / "config.yaml")
        << "state_dir: " << (dir_ / "state").string() << "\ndomains: []\n";

    socket_path_ = (dir_ / "notify").string();
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd_, 0) << std::strerror(errno);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    ASSERT_LT(socket_path_.size(), sizeof(addr.sun_path));
    std::memcpy(addr.sun_path, socket_path_.c_str(), socket_path_.size() + 1);
    ASSERT_EQ(bind(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)), 0)
        << std::strerror(errno);
  }

  void TearDown() override {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) close(fd_);
    if (HasFailure()) {
      std::ifstream log(dir_ / "daemon.log");
      std::cerr << "daemon log:\n" << log.rdbuf() << "\n";
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Starts the daemon with NOTIFY_SOCKET set, and WATCHDOG_USEC when given (WATCHDOG_PID unset:
  // sd_watchdog_enabled() then applies to whichever process reads it).
  void Start(std::optional<std::string> watchdog_usec) {
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string var = *e;
      if (var.rfind("NOTIFY_SOCKET=", 0) == 0 || var.rfind("WATCHDOG_", 0) == 0) continue;
      env.push_back(var);
    }
    env.push_back("NOTIFY_SOCKET=" + socket_path_);
    if (watchdog_usec) env.push_back("WATCHDOG_USEC=" + *watchdog_usec);
    std::vector<std::string> args = {MTASTS_BINARY,
                                     "--config.file=" + (dir_ / "config.yaml").string(),
                                     "--web.listen-address=127.0.0.1:0", "--log.level=debug"};
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const std::string log = (dir_ / "daemon.log").string();

    pid_ = fork();
    ASSERT_GE(pid_, 0) << std::strerror(errno);
    if (pid_ == 0) {
      const int out = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (out >= 0) {
        dup2(out, STDOUT_FILENO);
        dup2(out, STDERR_FILENO);
      }
      execve(argv[0], argv.data(), envp.data());
      _exit(127);
    }
  }

  // Waits for a datagram with a line equal to `want`; every message seen is kept in seen_.
  bool WaitFor(const std::string& want, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[4096];
      const ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) continue;
      const std::string message(buf, static_cast<std::size_t>(n));
      seen_.push_back(message);
      std::istringstream lines(message);
      bool found = false;
      for (std::string line; std::getline(lines, line);) found = found || line == want;
      if (found) return true;
    }
  }

  int WaitExit() {
    int status = 0;
    const auto deadline = Clock::now() + std::chrono::seconds(20);
    while (Clock::now() < deadline) {
      const pid_t done = waitpid(pid_, &status, WNOHANG);
      if (done == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      usleep(20000);
    }
    return -1;
  }

  std::string Seen() const {
    std::string out;
    for (const auto& m : seen_) out += "[" + m + "] ";
    return out;
  }

  fs::path dir_;
  std::string socket_path_;
  int fd_ = -1;
  pid_t pid_ = -1;
  std::vector<std::string> seen_;
};

TEST_F(NotifyTest, ReadyWatchdogReloadStopping) {
  Start("200000");  // 200 ms: a ping every 100 ms
  ASSERT_TRUE(WaitFor("READY=1", std::chrono::seconds(15))) << Seen();
  bool has_status = false;
  for (const auto& m : seen_)
    has_status = has_status || m.find("STATUS=watching 0 domains") != std::string::npos;
  EXPECT_TRUE(has_status) << Seen();

  // Several pings, each well within the interval.
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(WaitFor("WATCHDOG=1", std::chrono::milliseconds(1000))) << "ping " << i << Seen();
  }

  ASSERT_EQ(kill(pid_, SIGHUP), 0);
  ASSERT_TRUE(WaitFor("RELOADING=1", std::chrono::seconds(5))) << Seen();
  bool has_monotonic = false;
  for (const auto& m : seen_)
    has_monotonic = has_monotonic || m.find("MONOTONIC_USEC=") != std::string::npos;
  EXPECT_TRUE(has_monotonic) << Seen();
  ASSERT_TRUE(WaitFor("READY=1", std::chrono::seconds(5))) << Seen();
  EXPECT_TRUE(WaitFor("WATCHDOG=1", std::chrono::milliseconds(1000))) << Seen();

  ASSERT_EQ(kill(pid_, SIGTERM), 0);
  ASSERT_TRUE(WaitFor("STOPPING=1", std::chrono::seconds(5))) << Seen();
  EXPECT_EQ(WaitExit(), 0);
}

TEST_F(NotifyTest, NoWatchdogPingsWithoutWatchdogUsec) {
  Start(std::nullopt);
  ASSERT_TRUE(WaitFor("READY=1", std::chrono::seconds(15))) << Seen();
  EXPECT_FALSE(WaitFor("WATCHDOG=1", std::chrono::milliseconds(500))) << Seen();
  ASSERT_EQ(kill(pid_, SIGTERM), 0);
  ASSERT_TRUE(WaitFor("STOPPING=1", std::chrono::seconds(5))) << Seen();
  EXPECT_EQ(WaitExit(), 0);
}

}  // namespace
