#include "tls_peer.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <chrono>
#include <stdexcept>

#include "test_pki.hpp"

namespace hydrant::tls::test {

namespace {

using Clock = std::chrono::steady_clock;

Clock::time_point deadline_in(int ms) { return Clock::now() + std::chrono::milliseconds(ms); }

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(what);
}

void set_nonblocking(int fd) {
  check(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == 0, "fcntl");
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

void wait_for(int fd_a, short events_a, int fd_b, short events_b, int ms) {
  pollfd fds[2] = {{fd_a, events_a, 0}, {fd_b, events_b, 0}};
  poll(fds, fd_b >= 0 ? 2 : 1, ms);
}

bool retryable(SSL* ssl, int ret) {
  const int e = SSL_get_error(ssl, ret);
  return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
}

// Sizes of the iovecs the echo passes to writev: mostly small (as MQTT headers and short
// payloads are), now and then larger than a record.
size_t piece_size(size_t n) {
  static constexpr size_t kSizes[] = {1, 7, 33, 120, 300, 5, 2, 900, 64, 3};
  return n % 50 == 49 ? 20000 : kSizes[n % 10];
}

}  // namespace

TcpPair::TcpPair() {
  signal(SIGPIPE, SIG_IGN);  // as broker/main.cpp does: writes to a closed peer return EPIPE
  const int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  check(listener >= 0, "socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  check(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 && listen(listener, 1) == 0 &&
            getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) == 0,
        "listen on 127.0.0.1:0");
  client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  check(client >= 0 && connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0, "connect");
  server = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  close(listener);
  check(server >= 0, "accept");
  set_nonblocking(server);
  set_nonblocking(client);
}

TcpPair::~TcpPair() {
  if (server >= 0) close(server);
  close_client();
}

void TcpPair::close_client() {
  if (client >= 0) close(client);
  client = -1;
}

void TcpPair::shrink_buffers(int bytes) {
  for (int fd : {server, client}) {
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
  }
}

Client::Client(int fd, const ClientOptions& options) {
  ctx_ = SSL_CTX_new(TLS_client_method());
  check(ctx_ != nullptr, "SSL_CTX_new");
  if (options.legacy) SSL_CTX_set_security_level(ctx_, 0);
  check(SSL_CTX_set_min_proto_version(ctx_, options.min_version) == 1 &&
            SSL_CTX_set_max_proto_version(ctx_, options.max_version) == 1,
        "client versions");
  if (options.legacy) check(SSL_CTX_set_cipher_list(ctx_, "DEFAULT:@SECLEVEL=0") == 1, "legacy ciphers");
  if (!options.tls12_ciphers.empty()) {
    check(SSL_CTX_set_cipher_list(ctx_, options.tls12_ciphers.c_str()) == 1, "client ciphers");
  }
  if (!options.alpn.empty()) {
    std::string wire;
    for (const auto& p : options.alpn) wire += static_cast<char>(p.size()) + p;
    check(SSL_CTX_set_alpn_protos(ctx_, reinterpret_cast<const unsigned char*>(wire.data()),
                                  static_cast<unsigned>(wire.size())) == 0,
          "client alpn");
  }
  check(SSL_CTX_load_verify_locations(ctx_, test_pki().ca_cert.c_str(), nullptr) == 1, "load CA");
  SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_mode(ctx_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  ssl_ = SSL_new(ctx_);
  check(ssl_ != nullptr && SSL_set_fd(ssl_, fd) == 1, "client SSL");
  SSL_set_connect_state(ssl_);
  SSL_set_tlsext_host_name(ssl_, "localhost");
  check(SSL_set1_host(ssl_, "localhost") == 1, "client host check");
  SSL_set_msg_callback(ssl_, &Client::on_message);
  SSL_set_msg_callback_arg(ssl_, this);
}

Client::~Client() {
  SSL_free(ssl_);
  SSL_CTX_free(ctx_);
}

void Client::on_message(int write_p, int, int content_type, const void*, size_t, SSL*, void* arg) {
  if (!write_p && content_type == SSL3_RT_HEADER) ++static_cast<Client*>(arg)->records_;
}

int Client::handshake_step() {
  ERR_clear_error();
  const int ret = SSL_do_handshake(ssl_);
  if (ret == 1) return 1;
  if (retryable(ssl_, ret)) return 0;
  const unsigned long code = ERR_peek_last_error();
  error_ = code != 0 ? ERR_reason_error_string(code) : "handshake failed";
  ERR_clear_error();
  return -1;
}

std::string Client::peer_common_name() const {
  X509* cert = SSL_get1_peer_certificate(ssl_);
  if (cert == nullptr) return "";
  char cn[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
  X509_free(cert);
  return cn;
}

Io handshake(Stream& server, Client& client, int timeout_ms) {
  const auto deadline = deadline_in(timeout_ms);
  uint8_t buf[4096];
  Io last = Io::WantRead;
  int client_state = 0;
  while (Clock::now() < deadline) {
    if (client_state == 0) client_state = client.handshake_step();
    if (!server.handshake_done()) {
      size_t got = 0;
      last = server.read(buf, sizeof buf, got);
      if (last == Io::Error || last == Io::Closed) return last;
    }
    if (client_state == 1 && server.handshake_done()) return Io::Ok;
    wait_for(SSL_get_fd(client.ssl()), POLLIN, -1, 0, 5);
  }
  return last == Io::Ok ? Io::WantRead : last;
}

std::vector<uint8_t> echo(Stream& server, int server_fd, Client& client, const std::vector<uint8_t>& data,
                          int& want_writes, int timeout_ms) {
  const auto deadline = deadline_in(timeout_ms);
  const int client_fd = SSL_get_fd(client.ssl());
  std::vector<uint8_t> back, to_echo, buf(65536);
  size_t sent = 0, echo_head = 0, pieces = 0;
  std::vector<iovec> iov(1024);
  want_writes = 0;
  while (back.size() < data.size() && Clock::now() < deadline) {
    if (sent < data.size()) {
      size_t n = 0;
      const int ret = SSL_write_ex(client.ssl(), data.data() + sent, std::min<size_t>(data.size() - sent, 40000), &n);
      if (ret == 1) sent += n;
      else if (!retryable(client.ssl(), ret)) return back;
    }
    Io io;
    do {
      size_t got = 0;
      io = server.read(buf.data(), buf.size(), got);
      to_echo.insert(to_echo.end(), buf.begin(), buf.begin() + static_cast<long>(got));
    } while (io == Io::Ok);
    if (io == Io::Error || io == Io::Closed) return back;
    if (echo_head < to_echo.size() || server.has_pending_write()) {
      int count = 0;
      for (size_t at = echo_head; at < to_echo.size() && count < static_cast<int>(iov.size()); ++count) {
        const size_t len = std::min(piece_size(pieces++), to_echo.size() - at);
        iov[static_cast<size_t>(count)] = {to_echo.data() + at, len};
        at += len;
      }
      size_t written = 0;
      io = server.writev(iov.data(), count, written);
      echo_head += written;
      if (echo_head == to_echo.size()) {
        to_echo.clear();
        echo_head = 0;
      }
      if (io == Io::WantWrite) ++want_writes;
      else if (io != Io::Ok) return back;
    }
    // The client reads only once it has sent everything, so the server's writes back up.
    while (sent == data.size()) {
      size_t n = 0;
      const int ret = SSL_read_ex(client.ssl(), buf.data(), buf.size(), &n);
      if (ret != 1) break;
      back.insert(back.end(), buf.begin(), buf.begin() + static_cast<long>(n));
    }
    wait_for(client_fd, static_cast<short>(POLLIN | (sent < data.size() ? POLLOUT : 0)), server_fd,
             static_cast<short>(POLLIN | (server.wants_writable() ? POLLOUT : 0)), 5);
  }
  return back;
}

std::vector<uint8_t> client_read(Client& client, int fd, size_t n, int timeout_ms) {
  const auto deadline = deadline_in(timeout_ms);
  std::vector<uint8_t> out, buf(65536);
  while (out.size() < n && Clock::now() < deadline) {
    size_t got = 0;
    if (SSL_read_ex(client.ssl(), buf.data(), buf.size(), &got) == 1) {
      out.insert(out.end(), buf.begin(), buf.begin() + static_cast<long>(got));
    } else {
      wait_for(fd, POLLIN, -1, 0, 5);
    }
  }
  return out;
}

bool client_write(Client& client, int fd, const std::vector<uint8_t>& data, int timeout_ms) {
  const auto deadline = deadline_in(timeout_ms);
  size_t sent = 0;
  while (sent < data.size() && Clock::now() < deadline) {
    size_t n = 0;
    const int ret = SSL_write_ex(client.ssl(), data.data() + sent, data.size() - sent, &n);
    if (ret == 1) sent += n;
    else if (!retryable(client.ssl(), ret)) return false;
    else wait_for(fd, POLLOUT, -1, 0, 5);
  }
  return sent == data.size();
}

std::vector<uint8_t> pattern(size_t n, uint32_t seed) {
  std::vector<uint8_t> out(n);
  uint32_t x = seed * 2654435761u + 1;
  for (auto& b : out) {
    x = x * 1664525u + 1013904223u;
    b = static_cast<uint8_t>(x >> 24);
  }
  return out;
}

std::shared_ptr<const ServerContext> server_context() {
  static const auto loaded = ServerContext::load(test_pki().server_cert, test_pki().server_key);
  check(loaded.ok(), "cannot load the test certificate");
  return loaded.context;
}

Io read_until_settled(Stream& server, int fd, size_t& total) {
  uint8_t buf[4096];
  total = 0;
  for (int i = 0; i < 400; ++i) {
    size_t got = 0;
    const Io io = server.read(buf, sizeof buf, got);
    total += got;
    if (io != Io::WantRead && io != Io::Ok) return io;
    if (io == Io::WantRead) wait_for(fd, POLLIN, -1, 0, 5);
  }
  return Io::WantRead;
}

std::vector<uint8_t> client_hello() {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  check(ctx != nullptr, "SSL_CTX_new");
  SSL* ssl = SSL_new(ctx);
  check(ssl != nullptr, "SSL_new");
  BIO* wbio = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl, BIO_new(BIO_s_mem()), wbio);  // the SSL owns both
  SSL_set_connect_state(ssl);
  SSL_set_tlsext_host_name(ssl, "localhost");
  (void)SSL_do_handshake(ssl);  // writes the ClientHello, then wants to read
  char* data = nullptr;
  const long len = BIO_get_mem_data(wbio, &data);
  std::vector<uint8_t> hello(data, data + (len > 0 ? len : 0));
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  ERR_clear_error();
  return hello;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace hydrant::tls::test
