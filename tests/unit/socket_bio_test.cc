// The fetch's socket BIO on a socketpair: data both ways, a non-blocking socket's "not now" as a
// retry, end of file as BIO_eof, and a write to a closed peer as an error, not SIGPIPE (whose
// default action would end this test process: SIGPIPE is set to its default here on purpose).
#include "collectors/net/socket_bio.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <string>

namespace mtasts::net {
namespace {

class SocketBioTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds_), 0);
    old_ = std::signal(SIGPIPE, SIG_DFL);
    bio_ = NewSocketBio(fds_[0]);
    ASSERT_NE(bio_, nullptr);
  }
  void TearDown() override {
    BIO_free(bio_);
    std::signal(SIGPIPE, old_);
    for (int fd : fds_) {
      if (fd >= 0) close(fd);
    }
  }

  int fds_[2] = {-1, -1};
  BIO* bio_ = nullptr;
  void (*old_)(int) = nullptr;
};

TEST_F(SocketBioTest, CarriesBytesBothWays) {
  ASSERT_EQ(BIO_write(bio_, "hello", 5), 5);
  char buf[16] = {};
  ASSERT_EQ(read(fds_[1], buf, sizeof buf), 5);
  EXPECT_EQ(std::string(buf, 5), "hello");
  ASSERT_EQ(write(fds_[1], "world", 5), 5);
  ASSERT_EQ(BIO_read(bio_, buf, sizeof buf), 5);
  EXPECT_EQ(std::string(buf, 5), "world");
  EXPECT_EQ(BIO_get_fd(bio_, nullptr), fds_[0]);
}

TEST_F(SocketBioTest, NothingToReadIsARetryNotAnEnd) {
  char buf[16];
  EXPECT_LE(BIO_read(bio_, buf, sizeof buf), 0);
  EXPECT_TRUE(BIO_should_retry(bio_));
  EXPECT_TRUE(BIO_should_read(bio_));
  EXPECT_FALSE(BIO_eof(bio_));
}

TEST_F(SocketBioTest, AFullSocketIsARetryToWrite) {
  const std::string block(64 * 1024, 'x');
  int written = 0;
  for (int i = 0;
       i < 1000 && (written = BIO_write(bio_, block.data(), static_cast<int>(block.size()))) > 0;
       ++i) {
  }
  EXPECT_LE(written, 0);
  EXPECT_TRUE(BIO_should_retry(bio_));
  EXPECT_TRUE(BIO_should_write(bio_));
}

TEST_F(SocketBioTest, ThePeersCloseIsEndOfFile) {
  close(fds_[1]);
  fds_[1] = -1;
  char buf[16];
  EXPECT_EQ(BIO_read(bio_, buf, sizeof buf), 0);
  EXPECT_FALSE(BIO_should_retry(bio_));
  EXPECT_TRUE(BIO_eof(bio_));
}

TEST_F(SocketBioTest, WritingToAClosedPeerIsAnErrorNotSigpipe) {
  close(fds_[1]);
  fds_[1] = -1;
  // With OpenSSL's own socket BIO (write(2)) this ends the process with SIGPIPE.
  EXPECT_LE(BIO_write(bio_, "x", 1), 0);
  EXPECT_EQ(errno, EPIPE);
  EXPECT_FALSE(BIO_should_retry(bio_));
}

}  // namespace
}  // namespace mtasts::net
