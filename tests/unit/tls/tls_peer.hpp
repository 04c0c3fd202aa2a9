// Test peers for tls::Stream: a connected non-blocking TCP pair on loopback, and a real OpenSSL
// client (verifying the server against the test CA and the name "localhost"), plus loops that
// drive both ends with poll() under a deadline, in one thread.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <string>
#include <vector>

#include "tls/server_context.hpp"
#include "tls/stream.hpp"

namespace hydrant::tls::test {

// Both ends non-blocking; closed by the destructor unless released.
struct TcpPair {
  TcpPair();
  ~TcpPair();
  TcpPair(const TcpPair&) = delete;
  TcpPair& operator=(const TcpPair&) = delete;
  void close_client();
  void shrink_buffers(int bytes);  // small socket buffers make writes block
  int server = -1;
  int client = -1;
};

struct ClientOptions {
  int min_version = TLS1_2_VERSION;
  int max_version = TLS1_3_VERSION;
  std::string tls12_ciphers;            // empty: OpenSSL's default
  std::vector<std::string> alpn;        // protocols offered, in order
  bool legacy = false;                  // security level 0, for TLS 1.0/1.1 clients
};

class Client {
 public:
  Client(int fd, const ClientOptions& options = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // One non-blocking handshake step: 1 done, 0 in progress, -1 failed (see error()).
  int handshake_step();
  bool done() const { return SSL_is_init_finished(ssl_) == 1; }
  SSL* ssl() { return ssl_; }
  std::string peer_common_name() const;
  std::string error() const { return error_; }

  // Records received since the last reset (counted from the record headers).
  int records_received() const { return records_; }
  void reset_record_count() { records_ = 0; }

 private:
  static void on_message(int write_p, int version, int content_type, const void* buf, size_t len,
                         SSL* ssl, void* arg);
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string error_;
  int records_ = 0;
};

// Runs both handshakes to the end. Returns the server's last status: Ok when both finished,
// else what the server saw (Error, Closed) or WantRead on timeout.
Io handshake(Stream& server, Client& client, int timeout_ms = 5000);

// Sends `data` from the client and echoes it back through Stream::writev, passing what the
// server read as many small and some large iovecs; returns what the client read back. The
// client reads only once it has sent everything, so the server's writes block on a full socket.
// `want_writes` counts writev() calls that returned WantWrite.
std::vector<uint8_t> echo(Stream& server, int server_fd, Client& client, const std::vector<uint8_t>& data,
                          int& want_writes, int timeout_ms = 30000);

// Reads on the client until `n` bytes arrived (or the deadline); returns them.
std::vector<uint8_t> client_read(Client& client, int fd, size_t n, int timeout_ms = 5000);
// Writes all of `data` on the client.
bool client_write(Client& client, int fd, const std::vector<uint8_t>& data, int timeout_ms = 5000);

std::vector<uint8_t> pattern(size_t n, uint32_t seed = 1);

// The context for the first test certificate (CN=localhost), loaded once.
std::shared_ptr<const ServerContext> server_context();

// Reads on the server, polling `fd`, until it reports Closed or Error, or about 2 s pass
// (then WantRead). `total` counts the plaintext bytes read meanwhile.
Io read_until_settled(Stream& server, int fd, size_t& total);

bool contains(const std::string& text, const std::string& part);

// The bytes of a real TLS 1.3 ClientHello (made with memory BIOs, sent nowhere).
std::vector<uint8_t> client_hello();

}  // namespace hydrant::tls::test
