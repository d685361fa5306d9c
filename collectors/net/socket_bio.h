#pragma once

struct bio_st;

namespace mtasts::net {

/// An OpenSSL BIO over a connected socket that sends with MSG_NOSIGNAL. OpenSSL's own socket BIO
/// writes with write(2), so a write to a peer that reset the connection raises SIGPIPE, whose
/// default action ends the process; this one makes it an EPIPE error instead, without touching
/// any signal mask or handler. Non-blocking sockets report EAGAIN as a retry (SSL_ERROR_WANT_*);
/// a peer's orderly close is end of file (BIO_eof). The BIO does not own `fd`: closing it stays
/// with the caller. Returns nullptr when OpenSSL cannot allocate it. Thread-safe.
bio_st* NewSocketBio(int fd);

}  // namespace mtasts::net
