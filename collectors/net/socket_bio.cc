#include "collectors/net/socket_bio.h"

#include <openssl/bio.h>
#include <sys/socket.h>

#include <cerrno>

namespace mtasts::net {
namespace {

struct Socket {
  int fd;
};

int FdOf(BIO* bio) {
  return static_cast<Socket*>(BIO_get_data(bio))->fd;
}

bool Transient(int error) {
  return error == EAGAIN || error == EWOULDBLOCK || error == EINTR;
}

int Write(BIO* bio, const char* data, std::size_t length, std::size_t* written) {
  BIO_clear_retry_flags(bio);
  // MSG_NOSIGNAL: a reset peer is EPIPE, never SIGPIPE (which would end the whole process).
  const ssize_t n = send(FdOf(bio), data, length, MSG_NOSIGNAL);
  if (n >= 0) {
    *written = static_cast<std::size_t>(n);
    return 1;
  }
  if (Transient(errno)) BIO_set_retry_write(bio);
  return 0;
}

int Read(BIO* bio, char* data, std::size_t length, std::size_t* read) {
  BIO_clear_retry_flags(bio);
  const ssize_t n = recv(FdOf(bio), data, length, 0);
  if (n > 0) {
    *read = static_cast<std::size_t>(n);
    return 1;
  }
  if (n == 0) {
    // What OpenSSL's socket BIO does at end of file: SSL tells an EOF without close_notify
    // (SSL_R_UNEXPECTED_EOF_WHILE_READING) from a reset by asking BIO_eof.
    BIO_set_flags(bio, BIO_FLAGS_IN_EOF);
  } else if (Transient(errno)) {
    BIO_set_retry_read(bio);
  }
  return 0;
}

long Control(BIO* bio, int command, long /*number*/, void* pointer) {
  switch (command) {
    case BIO_CTRL_FLUSH: return 1;  // nothing is buffered here
    case BIO_CTRL_EOF: return BIO_test_flags(bio, BIO_FLAGS_IN_EOF) != 0 ? 1 : 0;
    case BIO_C_GET_FD:
      if (pointer != nullptr) *static_cast<int*>(pointer) = FdOf(bio);
      return FdOf(bio);
    default: return 0;  // no kTLS, no datagram controls, nothing else
  }
}

int Destroy(BIO* bio) {
  delete static_cast<Socket*>(BIO_get_data(bio));
  BIO_set_data(bio, nullptr);
  return 1;
}

/// Built once, never freed: BIOs made from it may live until the process ends.
const BIO_METHOD* Method() {
  static const BIO_METHOD* method = [] {
    const int index = BIO_get_new_index();
    if (index == -1) return static_cast<BIO_METHOD*>(nullptr);
    BIO_METHOD* m = BIO_meth_new(index | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR,
                                 "socket with MSG_NOSIGNAL");
    if (m == nullptr || BIO_meth_set_write_ex(m, Write) != 1 ||
        BIO_meth_set_read_ex(m, Read) != 1 || BIO_meth_set_ctrl(m, Control) != 1 ||
        BIO_meth_set_destroy(m, Destroy) != 1) {
      BIO_meth_free(m);
      return static_cast<BIO_METHOD*>(nullptr);
    }
    return m;
  }();
  return method;
}

}  // namespace

BIO* NewSocketBio(int fd) {
  const BIO_METHOD* method = Method();
  if (method == nullptr) return nullptr;
  BIO* bio = BIO_new(method);
  if (bio == nullptr) return nullptr;
  BIO_set_data(bio, new Socket{fd});
  BIO_set_init(bio, 1);
  return bio;
}

}  // namespace mtasts::net
