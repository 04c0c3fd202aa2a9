// tls::Stream's endings: a client that gives up at any point of the handshake, close_notify in
// both directions, data followed by close_notify in one flight, and an abrupt TCP close.
#include <doctest.h>

#include <poll.h>
#include <sys/socket.h>

#include <vector>

#include "tls/stream.hpp"
#include "tls_peer.hpp"

using namespace hydrant::tls;
using namespace hydrant::tls::test;

TEST_CASE("a client closing before or during the handshake: Closed or Error, and no crash") {
  TcpPair sockets;
  Stream server(server_context(), sockets.server);
  const auto hello = client_hello();
  REQUIRE(hello.size() > 100);
  REQUIRE(hello[0] == 0x16);

  SUBCASE("silent, then closed") {
    sockets.close_client();
    size_t total = 0;
    CHECK(read_until_settled(server, sockets.server, total) == Io::Closed);
  }
  SUBCASE("half a ClientHello, then closed") {
    const std::vector<uint8_t> half(hello.begin(), hello.begin() + static_cast<long>(hello.size() / 2));
    REQUIRE(::send(sockets.client, half.data(), half.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(half.size()));
    sockets.close_client();
    size_t total = 0;
    const Io io = read_until_settled(server, sockets.server, total);
    CHECK((io == Io::Closed || io == Io::Error));
  }
  SUBCASE("a whole ClientHello, then closed before the server's flight is read") {
    REQUIRE(::send(sockets.client, hello.data(), hello.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(hello.size()));
    sockets.close_client();
    size_t total = 0;
    const Io io = read_until_settled(server, sockets.server, total);
    CHECK((io == Io::Closed || io == Io::Error));
  }
  SUBCASE("closed with the server's flight unread: the server sees a reset") {
    Client client(sockets.client);
    CHECK(client.handshake_step() == 0);  // ClientHello sent
    size_t total = 0;
    uint8_t buf[256];
    for (int i = 0; i < 100 && !server.has_ssl_for_test(); ++i) (void)server.read(buf, sizeof buf, total);
    REQUIRE(server.has_ssl_for_test());  // the server has answered the hello
    sockets.close_client();               // unread input: the kernel sends RST
    const Io io = read_until_settled(server, sockets.server, total);
    CHECK((io == Io::Closed || io == Io::Error));
    CHECK_FALSE(server.handshake_done());
  }
  server.shutdown();
  CHECK_FALSE(server.has_ssl_for_test());
  size_t got = 0;
  uint8_t buf[16];
  const Io after = server.read(buf, sizeof buf, got);
  CHECK((after == Io::Closed || after == Io::Error));
}

TEST_CASE("server shutdown() sends close_notify; later calls say Closed") {
  TcpPair sockets;
  Stream server(server_context(), sockets.server);
  Client client(sockets.client);
  REQUIRE(handshake(server, client) == Io::Ok);
  server.shutdown();
  CHECK_FALSE(server.has_ssl_for_test());
  const auto got = client_read(client, sockets.client, 1, 2000);
  CHECK(got.empty());
  CHECK(SSL_get_error(client.ssl(), 0) == SSL_ERROR_ZERO_RETURN);
  size_t n = 0;
  uint8_t buf[16];
  CHECK(server.read(buf, sizeof buf, n) == Io::Closed);
  CHECK(server.writev(nullptr, 0, n) == Io::Closed);
}

TEST_CASE("client close_notify after data: the data first, then Closed, then our reply") {
  TcpPair sockets;
  Stream server(server_context(), sockets.server);
  Client client(sockets.client);
  REQUIRE(handshake(server, client) == Io::Ok);
  const auto data = pattern(100);
  REQUIRE(client_write(client, sockets.client, data));
  REQUIRE(SSL_shutdown(client.ssl()) == 0);  // close_notify sent, the reply not yet received

  std::vector<uint8_t> received;
  uint8_t buf[4096];
  Io io = Io::WantRead;
  for (int i = 0; i < 400 && io != Io::Closed && io != Io::Error; ++i) {
    size_t got = 0;
    io = server.read(buf, sizeof buf, got);
    received.insert(received.end(), buf, buf + got);
    if (io == Io::WantRead) {
      pollfd p{sockets.server, POLLIN, 0};
      poll(&p, 1, 5);
    }
  }
  CHECK(io == Io::Closed);
  CHECK(received == data);
  CHECK(server.has_ssl_for_test());  // kept so that shutdown() can answer
  server.shutdown();
  int done = 0;
  for (int i = 0; i < 400 && done != 1; ++i) {
    done = SSL_shutdown(client.ssl());
    if (done != 1) {
      pollfd p{sockets.client, POLLIN, 0};
      poll(&p, 1, 5);
    }
  }
  CHECK(done == 1);  // the client saw our close_notify: a clean bidirectional close
}

TEST_CASE("an abrupt TCP close after the handshake is Closed, not Error") {
  TcpPair sockets;
  Stream server(server_context(), sockets.server);
  Client client(sockets.client);
  REQUIRE(handshake(server, client) == Io::Ok);
  sockets.close_client();
  size_t total = 0;
  CHECK(read_until_settled(server, sockets.server, total) == Io::Closed);
  CHECK(server.error().empty());
}
