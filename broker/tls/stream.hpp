// Stream: the server side of one TLS connection over a non-blocking socket that the caller owns,
// shaped for a level-triggered epoll loop that reads into one shared buffer and writes iovec
// lists (net/worker.cpp, fanout::OutboundQueue).
//
//   read()   drives the handshake transparently, then returns plaintext.
//   writev() encrypts the caller's iovecs, coalescing small ones into records of up to 16 KiB,
//            and reports how many INPUT bytes it took (for OutboundQueue::consume).
//
// The OpenSSL retry rule (a write that returned WANT_WRITE must be retried with the same bytes)
// is kept inside the Stream: when a record cannot be sent whole, its plaintext is copied into
// the Stream and counted as written; the next writev() (even with no iovecs) sends it first.
// The caller therefore never has to present the same bytes again.
//
// Memory: nothing from OpenSSL is allocated until the first byte arrives, so a connection that
// never speaks costs only this object; a failed stream frees its OpenSSL state at once; record
// buffers are released while idle (SSL_MODE_RELEASE_BUFFERS).
//
// Does not own, close or poll the fd, and keeps no timers (the CONNECT deadline is the caller's).
// The process must ignore SIGPIPE (OpenSSL writes with write(2)); broker/main.cpp does.
// Not thread-safe: one Stream lives on one loop.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "tls/server_context.hpp"

using SSL = struct ssl_st;

namespace hydrant::tls {

enum class Io {
  Ok,         // progress: read() got > 0 bytes; writev() took every byte it was given
  WantRead,   // wait for EPOLLIN (the peer's bytes); nothing is lost
  WantWrite,  // wait for EPOLLOUT, then call the SAME function again (read after read, …)
  Closed,     // the peer closed (close_notify, EOF or reset): close quietly
  Error,      // a TLS or socket failure; error() says what, for one log line
};

std::string_view io_name(Io io);

class Stream {
 public:
  // Record payload limit of TLS (RFC 8446 5.1): the most plaintext one record carries.
  static constexpr size_t kMaxRecord = 16384;

  // `context`: the one current when the connection was accepted (ContextHolder::current()); it
  // serves this connection even if a reload replaces it. `fd`: a connected non-blocking socket,
  // not owned. Allocates nothing from OpenSSL yet. The destructor frees the OpenSSL state
  // without sending anything (call shutdown() first for a clean close).
  Stream(std::shared_ptr<const ServerContext> context, int fd);
  ~Stream();
  Stream(Stream&&) noexcept;
  Stream& operator=(Stream&&) noexcept;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  // Reads plaintext into buf[0, cap), completing the handshake first if needed. Returns Ok with
  // got > 0, or another status with got == 0. Reads until `cap` is full or the socket is empty,
  // so one call per EPOLLIN is enough unless has_buffered_input() says otherwise. Plain bytes
  // on the TLS port (an MQTT CONNECT, an HTTP request) give Error with a message saying so.
  // Any status may leave wants_writable() set (a handshake message or session ticket the socket
  // could not take): then arm EPOLLOUT and call read() again when writable.
  Io read(uint8_t* buf, size_t cap, size_t& got);

  // Encrypts and sends iov[0, count) in order, coalescing small iovecs into records. `written`
  // is how many input bytes were taken (some may wait inside the Stream, see the file comment):
  // pass it to OutboundQueue::consume(). Ok: all were taken. WantWrite: the socket is full; arm
  // EPOLLOUT and call again (count may be 0 to send only what the Stream holds). WantRead:
  // nothing can go out before read() makes progress (the handshake is not finished): do not arm
  // EPOLLOUT; call again after the next read().
  Io writev(const iovec* iov, int count, size_t& written);

  // Best effort, non-blocking: sends any held record and a close_notify if the handshake
  // finished, then frees the OpenSSL state. The caller then shuts down or closes the fd.
  // Later read()/writev() return Closed.
  void shutdown();

  // The handshake completed (stays true once the stream is closed).
  bool handshake_done() const { return handshake_finished_; }
  // Decrypted or received bytes OpenSSL holds that epoll cannot see: call read() again without
  // waiting for EPOLLIN.
  bool has_buffered_input() const;
  // Plaintext held for a blocked record: writev() must be called again once writable.
  bool has_pending_write() const { return pending_len_ > 0; }
  // Whether the caller should have EPOLLOUT armed: the last read() or writev() returned
  // WantWrite and has not been retried successfully since.
  bool wants_writable() const { return read_wants_write_ || write_wants_write_; }
  // After read() returned WantWrite: on EPOLLOUT, call read() again.
  bool read_wants_writable() const { return read_wants_write_; }

  std::string_view protocol() const;  // "TLSv1.3", "TLSv1.2"; "" before the handshake
  std::string_view cipher() const;    // "TLS_AES_256_GCM_SHA384"; "" before the handshake
  std::string_view alpn() const;      // "mqtt" when negotiated, else ""
  const std::string& error() const { return error_; }  // set when a call returned Error

  // Whether OpenSSL state is allocated (for tests of the memory promises).
  bool has_ssl_for_test() const { return ssl_ != nullptr; }

 private:
  enum class State : uint8_t { Fresh, Active, Closed, Failed };

  Io start();                                  // Fresh: check the first byte, create the SSL
  Io fail(std::string message);                // -> Failed; frees the OpenSSL state
  Io close_quietly();                          // -> Closed at the socket level; frees it too
  Io status_after(int ret, int saved_errno);   // maps SSL_get_error(), recording Closed/Failed
  std::string describe_ssl_failure() const;    // one line from the error queue, made specific
  Io write_record(const uint8_t* data, size_t len);
  void hold(const uint8_t* data, size_t len);  // keep a blocked record's plaintext for its retry
  Io flush_pending();
  void free_ssl();

  std::shared_ptr<const ServerContext> context_;  // held only until the SSL exists
  SSL* ssl_ = nullptr;
  std::unique_ptr<uint8_t[]> pending_;  // plaintext of the record OpenSSL must be re-given
  uint32_t pending_len_ = 0;
  int fd_;
  State state_ = State::Fresh;
  bool handshake_finished_ = false;
  bool read_filled_ = false;  // the last read() stopped because `cap` was reached
  bool read_wants_write_ = false;
  bool write_wants_write_ = false;
  std::string error_;
};

}  // namespace hydrant::tls
