// `mta-sts-exporter tlsrpt ingest`: the real binary, run as a mail system would run it (a file or
// standard input, the exit status and the line on stderr), against a real store.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "agent/tlsrpt/store.h"
#include "tests/unit/tlsrpt_test_data.h"

namespace mtasts::agent::tlsrpt {
namespace {

namespace fs = std::filesystem;
using mtasts::test::Gzip;
using mtasts::test::ReadTlsRptTestData;

struct Outcome {
  int status = -1;
  std::string err;
};

class IngestCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "tlsrpt-cli-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr) << std::strerror(errno);
    dir_ = tmpl;
    fs::create_directory(dir_ / "state");
    WriteConfig((dir_ / "state").string());
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void WriteConfig(const std::string& state_dir) {
    std::ofstream(dir_ / "config.yaml")
        << "state_dir: " << state_dir << "\ndomains: [example.com, example.org]\n";
  }

  std::string Put(const std::string& name, const std::string& bytes) {
    const fs::path path = dir_ / name;
    std::ofstream(path, std::ios::binary) << bytes;
    return path.string();
  }

  /// Runs `tlsrpt ingest ARGS...` with `stdin_path` (or /dev/null) as standard input.
  Outcome Ingest(std::vector<std::string> args, const std::string& stdin_path = "/dev/null") {
    std::vector<std::string> argv_s = {MTASTS_BINARY, "tlsrpt", "ingest",
                                       "--config.file=" + (dir_ / "config.yaml").string()};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    const std::string err_path = (dir_ / "stderr").string();
    const pid_t pid = fork();
    if (pid == 0) {
      const int in = open(stdin_path.c_str(), O_RDONLY);
      const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (in < 0 || err < 0) _exit(126);
      dup2(in, STDIN_FILENO);
      dup2(err, STDERR_FILENO);
      execv(argv[0], argv.data());
      _exit(127);
    }
    Outcome run;
    int status = 0;
    if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status)) {
      run.status = WEXITSTATUS(status);
    }
    std::ifstream in(err_path);
    std::stringstream text;
    text << in.rdbuf();
    run.err = text.str();
    return run;
  }

  std::int64_t StoredReports() {
    auto store = Store::Open((dir_ / "state" / "tlsrpt.sqlite").string());
    if (!store) {
      ADD_FAILURE() << store.error().message;
      return -1;
    }
    auto count = store.value()->ReportCount();
    return count ? count.value() : -1;
  }

  fs::path dir_;
};

TEST_F(IngestCommandTest, StoresAReportOnceAndSaysSo) {
  const std::string file = Put("google.json", ReadTlsRptTestData("google-sts.json"));
  Outcome first = Ingest({file});
  EXPECT_EQ(first.status, 0) << first.err;
  EXPECT_NE(first.err.find(": stored (Google Inc., report-id 2026-03-02T00:00:00Z_example.com, "
                           "for example.com)"),
            std::string::npos)
      << first.err;
  Outcome again = Ingest({file});
  EXPECT_EQ(again.status, 0) << again.err;
  EXPECT_NE(again.err.find(": already stored ("), std::string::npos) << again.err;
  EXPECT_EQ(StoredReports(), 1) << "a duplicate must not be stored twice";
}

TEST_F(IngestCommandTest, ReadsAMailMessageOrAGzipReportFromStdin) {
  Outcome mail =
      Ingest({}, (fs::path(MTASTS_TESTDATA_DIR) / "tlsrpt" / "message-rfc8460.eml").string());
  EXPECT_EQ(mail.status, 0) << mail.err;
  EXPECT_NE(mail.err.find("tlsrpt ingest: stdin: stored (Google Inc."), std::string::npos)
      << mail.err;
  const std::string gz = Put("ms.json.gz", Gzip(ReadTlsRptTestData("microsoft-sts.json")));
  Outcome bare = Ingest({"-"}, gz);
  EXPECT_EQ(bare.status, 0) << bare.err;
  EXPECT_NE(bare.err.find("stdin: stored (Microsoft Corporation"), std::string::npos) << bare.err;
  EXPECT_EQ(StoredReports(), 2);
}

TEST_F(IngestCommandTest, NotAReportOrNoWatchedDomainIsADataError) {
  const std::string garbage = Put("garbage.eml", "Subject: hello\r\n\r\njust a letter\r\n");
  Outcome bad = Ingest({garbage});
  EXPECT_EQ(bad.status, 65) << bad.err;
  EXPECT_NE(bad.err.find("garbage.eml: malformed: "), std::string::npos) << bad.err;

  const std::string other = Put("other.json", ReadTlsRptTestData("rfc8460-appendix-b.json"));
  Outcome unwatched = Ingest({other});
  EXPECT_EQ(unwatched.status, 65) << unwatched.err;
  EXPECT_NE(unwatched.err.find("other.json: unwatched (Company-X"), std::string::npos)
      << unwatched.err;

  const std::string broken = Put("broken.json.gz", Gzip("{\"organization-name\": ").substr(0, 20));
  Outcome truncated = Ingest({broken});
  EXPECT_EQ(truncated.status, 65) << truncated.err;
  EXPECT_EQ(StoredReports(), 0);
}

// The whole input is capped before it is buffered: 4 MiB and one byte is refused unread.
TEST_F(IngestCommandTest, AnInputOverTheMessageCapIsRefused) {
  const std::string big = Put("big.eml", std::string((std::size_t{4} << 20) + 1, 'a'));
  Outcome run = Ingest({big});
  EXPECT_EQ(run.status, 65) << run.err;
  EXPECT_NE(run.err.find("big.eml: too large: larger than 4 MiB"), std::string::npos) << run.err;
}

// One line per input; the exit status is the one that matters most to the mail system.
TEST_F(IngestCommandTest, SeveralInputsOneLineEachAndTheWorstStatus) {
  const std::string good = Put("good.json", ReadTlsRptTestData("google-sts.json"));
  const std::string bad = Put("bad.json", "{}");
  Outcome run = Ingest({good, bad, (dir_ / "missing.json").string()});
  EXPECT_EQ(run.status, 66) << run.err;
  EXPECT_NE(run.err.find("good.json: stored"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("bad.json: malformed"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("missing.json: cannot read: No such file or directory"), std::string::npos)
      << run.err;
  EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 3) << run.err;
}

// A state directory that cannot hold the store: EX_TEMPFAIL, so that the mail system keeps the
// message and delivers it again (the test runs as root, so the directory is made impossible
// rather than read-only: a regular file stands where it should be).
TEST_F(IngestCommandTest, AnUnwritableStateDirIsATemporaryFailure) {
  const std::string blocker = Put("not-a-dir", "x");
  WriteConfig(blocker + "/state");
  const std::string file = Put("google.json", ReadTlsRptTestData("google-sts.json"));
  Outcome run = Ingest({file});
  EXPECT_EQ(run.status, 75) << run.err;
  EXPECT_NE(run.err.find("google.json: store unavailable"), std::string::npos) << run.err;
  // A data error in the same run still leaves 75: the report must be retried.
  Outcome both = Ingest({Put("bad.json", "{}"), file});
  EXPECT_EQ(both.status, 75) << both.err;
}

// Another process holds the write lock longer than the store's bounded wait (10 s): 75.
TEST_F(IngestCommandTest, ADatabaseLockedBeyondTheBusyTimeoutIsATemporaryFailure) {
  const std::string db_path = (dir_ / "state" / "tlsrpt.sqlite").string();
  ASSERT_EQ(StoredReports(), 0);  // creates the store and its schema
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  const std::string file = Put("google.json", ReadTlsRptTestData("google-sts.json"));
  const auto start = std::chrono::steady_clock::now();
  Outcome run = Ingest({file});
  const auto waited = std::chrono::steady_clock::now() - start;
  sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  EXPECT_EQ(run.status, 75) << run.err;
  EXPECT_NE(run.err.find("store unavailable"), std::string::npos) << run.err;
  EXPECT_GE(waited, std::chrono::seconds(9)) << "it waits for the other writer first";
  EXPECT_LT(waited, std::chrono::seconds(30));
  // Once the lock is gone, the retry stores it.
  Outcome retry = Ingest({file});
  EXPECT_EQ(retry.status, 0) << retry.err;
  EXPECT_EQ(StoredReports(), 1);
}

// The mail path may run before the daemon ever did: the state directory is made.
TEST_F(IngestCommandTest, AMissingStateDirIsMade) {
  WriteConfig((dir_ / "state" / "new").string());
  Outcome run = Ingest({Put("google.json", ReadTlsRptTestData("google-sts.json"))});
  EXPECT_EQ(run.status, 0) << run.err;
  EXPECT_TRUE(fs::exists(dir_ / "state" / "new" / "tlsrpt.sqlite"));
}

TEST_F(IngestCommandTest, ABrokenConfigIsATemporaryFailure) {
  std::ofstream(dir_ / "config.yaml") << "domains: [\n";
  Outcome run = Ingest({Put("google.json", ReadTlsRptTestData("google-sts.json"))});
  EXPECT_EQ(run.status, 75) << run.err;
  EXPECT_NE(run.err.find("config.yaml:"), std::string::npos) << run.err;
}

}  // namespace
}  // namespace mtasts::agent::tlsrpt
