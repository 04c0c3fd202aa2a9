// tls::Stream's data path details: small iovecs share records, plaintext OpenSSL read ahead is
// reported so the caller reads again without waiting for epoll, and a key update mid-stream.
#include <doctest.h>

#include <poll.h>
#include <sys/ioctl.h>
#include <sys/uio.h>

#include <chrono>
#include <vector>

#include "tls/stream.hpp"
#include "tls_peer.hpp"

using namespace hydrant::tls;
using namespace hydrant::tls::test;

namespace {

// Writes `iov` in one writev() on a roomy socket and returns how many records the client got.
int records_for(Stream& server, Client& client, int client_fd, const std::vector<iovec>& iov) {
  size_t total = 0;
  for (const auto& v : iov) total += v.iov_len;
  client.reset_record_count();
  size_t written = 0;
  REQUIRE(server.writev(iov.data(), static_cast<int>(iov.size()), written) == Io::Ok);
  REQUIRE(written == total);
  std::vector<uint8_t> expected;
  for (const auto& v : iov) {
    const auto* p = static_cast<const uint8_t*>(v.iov_base);
    expected.insert(expected.end(), p, p + v.iov_len);
  }
  REQUIRE(client_read(client, client_fd, total) == expected);
  return client.records_received();
}

// Handshake, then one byte each way so session tickets are consumed before records are counted.
void connect_and_settle(Stream& server, Client& client, int client_fd) {
  REQUIRE(handshake(server, client) == Io::Ok);
  uint8_t marker = 'x';
  iovec one{&marker, 1};
  size_t written = 0;
  REQUIRE(server.writev(&one, 1, written) == Io::Ok);
  REQUIRE(client_read(client, client_fd, 1).size() == 1);
}

}  // namespace

TEST_CASE("writev coalesces small iovecs into records of up to 16 KiB") {
  TcpPair sockets;
  Stream server(server_context(), sockets.server);
  Client client(sockets.client);
  connect_and_settle(server, client, sockets.client);
  const auto data = pattern(100000);
  auto* base = const_cast<uint8_t*>(data.data());

  std::vector<iovec> tiny;  // 1,000 iovecs of 10 bytes: one record, not 1,000
  for (size_t i = 0; i < 1000; ++i) tiny.push_back({base + i * 10, 10});
  CHECK(records_for(server, client, sockets.client, tiny) == 1);

  std::vector<iovec> many;  // 4,000 × 10 bytes = 40,000 bytes: ceil(40000 / 16384) records
  for (size_t i = 0; i < 4000; ++i) many.push_back({base + i * 10, 10});
  CHECK(records_for(server, client, sockets.client, many) == 3);

  CHECK(records_for(server, client, sockets.client, {{base, 40000}}) == 3);
  // 5 + 20,000 + 5 bytes: the first record takes 5 bytes and 16,379 of the large piece.
  CHECK(records_for(server, client, sockets.client, {{base, 5}, {base + 5, 20000}, {base + 20005, 5}}) == 2);
  CHECK(records_for(server, client, sockets.client, {{base, 0}, {base, 3}, {base, 0}}) == 1);
}

TEST_CASE("input read ahead by OpenSSL is reported by has_buffered_input()") {
  TcpPair sockets;
  Stream server(server_context(), sockets.server);
  Client client(sockets.client);
  connect_and_settle(server, client, sockets.client);
  const auto data = pattern(30000);
  for (size_t at = 0; at < data.size(); at += 10000) {  // three records
    REQUIRE(client_write(client, sockets.client,
                         std::vector<uint8_t>(data.begin() + static_cast<long>(at),
                                              data.begin() + static_cast<long>(at + 10000))));
  }
  // Wait until the server's socket holds all three records (plaintext plus 22 bytes each).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  int queued = 0;
  while (queued < 30000 + 3 * 22 && std::chrono::steady_clock::now() < deadline) {
    ioctl(sockets.server, FIONREAD, &queued);
  }
  REQUIRE(queued >= 30000 + 3 * 22);

  // The loop epoll would run: read when the socket is readable or the Stream says so.
  std::vector<uint8_t> got_all;
  int reads_from_buffer_only = 0;
  for (;;) {
    pollfd p{sockets.server, POLLIN, 0};
    const bool readable = poll(&p, 1, 0) > 0;
    if (!readable && !server.has_buffered_input()) break;
    if (!readable) ++reads_from_buffer_only;
    uint8_t buf[4000];  // smaller than a record, as a busy loop's share may be
    size_t got = 0;
    const Io io = server.read(buf, sizeof buf, got);
    REQUIRE((io == Io::Ok || io == Io::WantRead));
    got_all.insert(got_all.end(), buf, buf + got);
  }
  CHECK(got_all == data);
  CHECK(reads_from_buffer_only > 0);  // the case this test is about happened
  CHECK_FALSE(server.has_buffered_input());
}

TEST_CASE("a client key update mid-stream is answered and data keeps flowing") {
  TcpPair sockets;
  Stream server(server_context(), sockets.server);
  Client client(sockets.client);
  REQUIRE(handshake(server, client) == Io::Ok);
  int want_writes = 0;
  const auto before = pattern(5000, 3);
  REQUIRE(echo(server, sockets.server, client, before, want_writes) == before);
  REQUIRE(SSL_key_update(client.ssl(), SSL_KEY_UPDATE_REQUESTED) == 1);
  const auto after = pattern(200000, 4);
  CHECK(echo(server, sockets.server, client, after, want_writes) == after);
}
