// Stream: one server-side TLS connection (see stream.hpp for the contract with the event loop).
#include "tls/stream.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <span>
#include <utility>

#include "tls/openssl_error.hpp"

namespace hydrant::tls {

namespace {

constexpr uint8_t kHandshakeRecord = 0x16;  // the content type every ClientHello starts with

// Why a connection whose first byte is not a TLS handshake record was refused: the usual cause
// is a client pointed at the TLS port without TLS enabled.
std::string describe_plaintext(uint8_t first) {
  if ((first >> 4) == 1) return "not TLS: the client sent a plain MQTT CONNECT to the TLS port";
  if (first == 'G' || first == 'P' || first == 'H' || first == 'D' || first == 'O') {
    return "not TLS: the client sent a plain HTTP request to the TLS port";
  }
  if (first & 0x80) return "not TLS 1.2+: the client sent an SSLv2-style hello";
  char text[96];
  std::snprintf(text, sizeof text, "not TLS: first byte 0x%02x is not a TLS handshake record", first);
  return text;
}

const char* version_name(int version) {
  switch (version) {
    case SSL3_VERSION: return "SSLv3";
    case TLS1_VERSION: return "TLSv1.0";
    case TLS1_1_VERSION: return "TLSv1.1";
    case TLS1_2_VERSION: return "TLSv1.2";
    default: return "an unknown version";
  }
}

// Cuts a caller's iovec list into TLS records, in order: a slice of a large iovec goes out
// without a copy; small pieces are gathered into one record, so that a queue of short MQTT
// packets does not become one 22-byte-overhead record (and one syscall) per packet.
class RecordCutter {
 public:
  RecordCutter(const iovec* iov, int count) : iov_(iov), count_(count) {}

  // The next record (at most Stream::kMaxRecord bytes), pointing into the iovecs or into
  // `staging`; empty when everything was handed out.
  std::span<const uint8_t> next(uint8_t* staging) {
    skip_empty();
    if (index_ == count_) return {};
    if (left() >= Stream::kMaxRecord) {
      const uint8_t* at = here();
      offset_ += Stream::kMaxRecord;
      return {at, Stream::kMaxRecord};
    }
    size_t len = 0;
    while (index_ < count_ && len < Stream::kMaxRecord) {
      const size_t take = std::min(left(), Stream::kMaxRecord - len);
      std::memcpy(staging + len, here(), take);
      len += take;
      offset_ += take;
      skip_empty();
    }
    return {staging, len};
  }

 private:
  size_t left() const { return iov_[index_].iov_len - offset_; }
  const uint8_t* here() const { return static_cast<const uint8_t*>(iov_[index_].iov_base) + offset_; }
  void skip_empty() {
    while (index_ < count_ && offset_ == iov_[index_].iov_len) {
      ++index_;
      offset_ = 0;
    }
  }

  const iovec* iov_;
  int count_;
  int index_ = 0;
  size_t offset_ = 0;  // into iov_[index_]
};

}  // namespace

std::string_view io_name(Io io) {
  switch (io) {
    case Io::Ok: return "ok";
    case Io::WantRead: return "want-read";
    case Io::WantWrite: return "want-write";
    case Io::Closed: return "closed";
    case Io::Error: return "error";
  }
  return "?";
}

Stream::Stream(std::shared_ptr<const ServerContext> context, int fd)
    : context_(std::move(context)), fd_(fd) {}

Stream::~Stream() { free_ssl(); }

Stream::Stream(Stream&& o) noexcept
    : context_(std::move(o.context_)),
      ssl_(std::exchange(o.ssl_, nullptr)),
      pending_(std::move(o.pending_)),
      pending_len_(std::exchange(o.pending_len_, 0)),
      fd_(o.fd_),
      state_(o.state_),
      handshake_finished_(o.handshake_finished_),
      read_filled_(o.read_filled_),
      read_wants_write_(o.read_wants_write_),
      write_wants_write_(o.write_wants_write_),
      error_(std::move(o.error_)) {
  o.state_ = State::Closed;
}

Stream& Stream::operator=(Stream&& o) noexcept {
  if (this != &o) {
    free_ssl();
    context_ = std::move(o.context_);
    ssl_ = std::exchange(o.ssl_, nullptr);
    pending_ = std::move(o.pending_);
    pending_len_ = std::exchange(o.pending_len_, 0);
    fd_ = o.fd_;
    state_ = std::exchange(o.state_, State::Closed);
    handshake_finished_ = o.handshake_finished_;
    read_filled_ = o.read_filled_;
    read_wants_write_ = o.read_wants_write_;
    write_wants_write_ = o.write_wants_write_;
    error_ = std::move(o.error_);
  }
  return *this;
}

void Stream::free_ssl() {
  if (ssl_ != nullptr) SSL_free(ssl_);
  ssl_ = nullptr;
}

Io Stream::fail(std::string message) {
  error_ = std::move(message);
  state_ = State::Failed;
  free_ssl();  // a failed connection keeps nothing but its message until the caller closes it
  pending_.reset();
  pending_len_ = 0;
  ERR_clear_error();
  return Io::Error;
}

Io Stream::close_quietly() {
  state_ = State::Closed;
  free_ssl();  // after a socket-level end OpenSSL forbids SSL_shutdown(): nothing more to say
  pending_.reset();
  pending_len_ = 0;
  ERR_clear_error();
  return Io::Closed;
}

// The first byte decides whether this is TLS at all, before any OpenSSL state is allocated: a
// peer that connects and stays silent costs nothing but this object.
Io Stream::start() {
  uint8_t first = 0;
  const ssize_t n = ::recv(fd_, &first, 1, MSG_PEEK);
  if (n == 0) return close_quietly();
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return Io::WantRead;
    if (errno == ECONNRESET) return close_quietly();
    return fail(std::string("tls: cannot read from the socket: ") + std::strerror(errno));
  }
  if (first != kHandshakeRecord) return fail(describe_plaintext(first));
  ERR_clear_error();
  ssl_ = SSL_new(context_->native());
  if (ssl_ == nullptr) return fail("tls: cannot create state: " + take_openssl_reason("no memory"));
  if (SSL_set_fd(ssl_, fd_) != 1) return fail("tls: cannot use the socket: " + take_openssl_reason("?"));
  SSL_set_accept_state(ssl_);
  context_.reset();  // the SSL holds its own reference to the SSL_CTX
  state_ = State::Active;
  return Io::Ok;
}

std::string Stream::describe_ssl_failure() const {
  const OpensslErrors errors = take_openssl_errors();
  if (errors.has(ERR_LIB_SSL, SSL_R_UNSUPPORTED_PROTOCOL)) {
    return std::string("tls handshake refused: the client offers at most ") +
           version_name(SSL_client_version(ssl_)) + "; TLSv1.2 or later is required";
  }
  if (errors.has(ERR_LIB_SSL, SSL_R_NO_SHARED_CIPHER)) {
    return "tls handshake refused: no shared cipher suite (TLSv1.2 clients need ECDHE with "
           "AES-GCM or ChaCha20-Poly1305)";
  }
  return std::string(handshake_finished_ ? "tls error: " : "tls handshake failed: ") +
         errors.reason("unknown error");
}

Io Stream::status_after(int ret, int saved_errno) {
  switch (SSL_get_error(ssl_, ret)) {
    case SSL_ERROR_WANT_READ: return Io::WantRead;
    case SSL_ERROR_WANT_WRITE: return Io::WantWrite;
    case SSL_ERROR_ZERO_RETURN:  // close_notify, or EOF (SSL_OP_IGNORE_UNEXPECTED_EOF)
      state_ = State::Closed;
      ERR_clear_error();
      return Io::Closed;
    case SSL_ERROR_SYSCALL:
      if (!openssl_error_queued() &&
          (saved_errno == 0 || saved_errno == ECONNRESET || saved_errno == EPIPE)) {
        return close_quietly();
      }
      return fail(std::string("tls: socket error: ") +
                  (saved_errno != 0 ? std::strerror(saved_errno) : take_openssl_reason("unknown")));
    case SSL_ERROR_SSL: return fail(describe_ssl_failure());
    default: return fail("tls: unexpected OpenSSL state");
  }
}

Io Stream::read(uint8_t* buf, size_t cap, size_t& got) {
  assert(cap > 0);
  got = 0;
  read_filled_ = false;
  if (state_ == State::Closed) return Io::Closed;
  if (state_ == State::Failed) return Io::Error;
  if (state_ == State::Fresh) {
    if (const Io started = start(); started != Io::Ok) return started;
  }
  read_wants_write_ = false;
  // Several records per call: the caller reads once per EPOLLIN, and records OpenSSL has read
  // ahead are invisible to epoll.
  while (got < cap) {
    ERR_clear_error();
    size_t n = 0;
    const int ret = SSL_read_ex(ssl_, buf + got, cap - got, &n);
    const int saved_errno = errno;
    if (!handshake_finished_ && SSL_is_init_finished(ssl_)) handshake_finished_ = true;
    if (ret == 1) {
      got += n;
      continue;
    }
    const Io io = status_after(ret, saved_errno);
    if (io == Io::WantWrite) read_wants_write_ = true;  // e.g. a handshake flight or a ticket
    if (got > 0) return Io::Ok;  // a Closed/Error state is recorded and reported next call
    return io;
  }
  read_filled_ = true;
  return Io::Ok;
}

bool Stream::has_buffered_input() const {
  // SSL_has_pending() also counts an incomplete record, which needs the socket: it only means
  // "read again now" when the last read stopped because the caller's buffer was full.
  return read_filled_ && ssl_ != nullptr && SSL_has_pending(ssl_) == 1;
}

Io Stream::write_record(const uint8_t* data, size_t len) {
  ERR_clear_error();
  size_t n = 0;
  // One record at most (len <= kMaxRecord), so success means every byte was taken.
  const int ret = SSL_write_ex(ssl_, data, len, &n);
  const int saved_errno = errno;
  if (ret == 1) return Io::Ok;
  return status_after(ret, saved_errno);
}

// The record that OpenSSL has started must be re-offered with the same bytes (and may come from
// another address: SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER).
void Stream::hold(const uint8_t* data, size_t len) {
  pending_ = std::make_unique_for_overwrite<uint8_t[]>(len);
  std::memcpy(pending_.get(), data, len);
  pending_len_ = static_cast<uint32_t>(len);
}

Io Stream::flush_pending() {
  if (pending_len_ == 0) return Io::Ok;
  const Io io = write_record(pending_.get(), pending_len_);
  if (io == Io::Ok) {
    pending_.reset();
    pending_len_ = 0;
  }
  return io;
}

Io Stream::writev(const iovec* iov, int count, size_t& written) {
  written = 0;
  write_wants_write_ = false;
  if (state_ == State::Closed) return Io::Closed;
  if (state_ == State::Failed) return Io::Error;
  if (!handshake_finished_) return Io::WantRead;  // read() drives the handshake
  if (const Io io = flush_pending(); io != Io::Ok) {
    write_wants_write_ = io == Io::WantWrite;
    return io;
  }
  uint8_t staging[kMaxRecord];
  RecordCutter cutter(iov, count);
  for (;;) {
    const std::span<const uint8_t> record = cutter.next(staging);
    if (record.empty()) return Io::Ok;
    const Io io = write_record(record.data(), record.size());
    if (io == Io::WantWrite || io == Io::WantRead) {
      hold(record.data(), record.size());  // now the Stream's to send: counted as taken
      written += record.size();
      write_wants_write_ = io == Io::WantWrite;
      return io;
    }
    if (io != Io::Ok) return io;
    written += record.size();
  }
}

void Stream::shutdown() {
  if (ssl_ != nullptr && handshake_finished_ && state_ != State::Failed) {
    if (pending_len_ > 0) (void)flush_pending();  // may fail() and free the SSL
    if (ssl_ != nullptr) {
      ERR_clear_error();
      (void)SSL_shutdown(ssl_);  // one try: queues and sends close_notify if the socket takes it
      ERR_clear_error();
    }
  }
  free_ssl();
  pending_.reset();
  pending_len_ = 0;
  read_wants_write_ = false;
  write_wants_write_ = false;
  if (state_ != State::Failed) state_ = State::Closed;
}

std::string_view Stream::protocol() const {
  return ssl_ != nullptr && handshake_finished_ ? SSL_get_version(ssl_) : "";
}

std::string_view Stream::cipher() const {
  if (ssl_ == nullptr || !handshake_finished_) return "";
  const char* name = SSL_get_cipher_name(ssl_);
  return name != nullptr ? name : "";
}

std::string_view Stream::alpn() const {
  if (ssl_ == nullptr) return "";
  const unsigned char* data = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(ssl_, &data, &len);
  return data != nullptr ? std::string_view(reinterpret_cast<const char*>(data), len) : "";
}

}  // namespace hydrant::tls
