// tls::Stream against a real OpenSSL client over loopback TCP, both ends non-blocking: the
// handshake (TLS 1.3 and 1.2, refused old versions and suites, ALPN), bulk echo through writev
// with many iovecs and blocked writes, record coalescing, buffered input, plain bytes on the TLS
// port, peers that give up mid-handshake, and both directions of close.
#include <doctest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "test_pki.hpp"
#include "tls/server_context.hpp"
#include "tls/stream.hpp"
#include "tls_peer.hpp"

using namespace hydrant::tls;
using namespace hydrant::tls::test;

namespace {

ClientOptions offering(std::vector<std::string> alpn) {
  ClientOptions o;
  o.alpn = std::move(alpn);
  return o;
}

ClientOptions tls12_with(const char* suite) {
  ClientOptions o;
  o.max_version = TLS1_2_VERSION;
  o.tls12_ciphers = suite;
  return o;
}

ClientOptions legacy_only(int version) {
  ClientOptions o;
  o.min_version = o.max_version = version;
  o.legacy = true;
  return o;
}

void send_raw(int fd, const std::vector<uint8_t>& bytes) {
  REQUIRE(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
}

}  // namespace

TEST_CASE("TLS 1.3 handshake, then 1 MiB echoed through writev with many iovecs") {
  TcpPair sockets;
  Stream server(server_context(), sockets.server);
  Client client(sockets.client, offering({"mqtt"}));
  REQUIRE(handshake(server, client) == Io::Ok);
  CHECK(server.handshake_done());
  CHECK(server.protocol() == "TLSv1.3");
  CHECK(contains("TLS_AES_128_GCM_SHA256 TLS_AES_256_GCM_SHA384 TLS_CHACHA20_POLY1305_SHA256",
                 std::string(server.cipher())));
  CHECK_FALSE(server.cipher().empty());
  CHECK(server.alpn() == "mqtt");
  CHECK(client.peer_common_name() == "localhost");

  SUBCASE("roomy socket buffers") {
    const auto data = pattern(1 << 20);
    int want_writes = 0;
    CHECK(echo(server, sockets.server, client, data, want_writes) == data);
  }
  SUBCASE("small socket buffers: writes block and are retried from the held record") {
    sockets.shrink_buffers(32768);
    const auto data = pattern(1 << 20, 7);
    int want_writes = 0;
    CHECK(echo(server, sockets.server, client, data, want_writes) == data);
    CHECK(want_writes > 0);  // the retry path ran
    CHECK_FALSE(server.has_pending_write());
  }
}

TEST_CASE("TLS 1.2 with an ECDHE-AEAD suite works; without ALPN too") {
  for (const char* suite : {"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
                            "ECDHE-ECDSA-CHACHA20-POLY1305"}) {
    CAPTURE(suite);
    TcpPair sockets;
    Stream server(server_context(), sockets.server);
    Client client(sockets.client, tls12_with(suite));
    REQUIRE(handshake(server, client) == Io::Ok);
    CHECK(server.protocol() == "TLSv1.2");
    CHECK(server.cipher() == suite);
    CHECK(server.alpn() == "");
    int want_writes = 0;
    const auto data = pattern(100000);
    CHECK(echo(server, sockets.server, client, data, want_writes) == data);
  }
}

TEST_CASE("ALPN: other protocols only is not an error, and nothing is selected") {
  TcpPair sockets;
  Stream server(server_context(), sockets.server);
  Client client(sockets.client, offering({"h2", "http/1.1"}));
  REQUIRE(handshake(server, client) == Io::Ok);
  CHECK(server.alpn() == "");
}

TEST_CASE("TLS 1.2 without forward secrecy or AEAD is refused") {
  for (const char* suite : {"ECDHE-ECDSA-AES128-SHA256", "AES128-GCM-SHA256"}) {
    CAPTURE(suite);
    TcpPair sockets;
    Stream server(server_context(), sockets.server);
    Client client(sockets.client, tls12_with(suite));
    CHECK(handshake(server, client) == Io::Error);
    CHECK(contains(server.error(), "no shared cipher"));
    CHECK_FALSE(server.has_ssl_for_test());
  }
}

TEST_CASE("TLS 1.1 and 1.0 clients are refused with a clear message") {
  for (int version : {TLS1_1_VERSION, TLS1_VERSION}) {
    CAPTURE(version);
    TcpPair sockets;
    Stream server(server_context(), sockets.server);
    Client client(sockets.client, legacy_only(version));
    CHECK(handshake(server, client) == Io::Error);
    CHECK(contains(server.error(), version == TLS1_1_VERSION ? "at most TLSv1.1" : "at most TLSv1.0"));
    CHECK(contains(server.error(), "TLSv1.2 or later is required"));
    CHECK_FALSE(server.handshake_done());
  }
}

TEST_CASE("plain bytes on the TLS port are an Error that says so, with no TLS state allocated") {
  TcpPair sockets;
  Stream server(server_context(), sockets.server);
  size_t got = 99;
  uint8_t buf[256];
  CHECK(server.read(buf, sizeof buf, got) == Io::WantRead);  // nothing sent yet
  CHECK(got == 0);
  CHECK_FALSE(server.has_ssl_for_test());  // a silent peer costs no OpenSSL state

  SUBCASE("an MQTT 3.1.1 CONNECT") {
    send_raw(sockets.client, {0x10, 0x0c, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02, 0x00, 0x3c, 0x00, 0x00});
    size_t total = 0;
    CHECK(read_until_settled(server, sockets.server, total) == Io::Error);
    CHECK(server.error() == "not TLS: the client sent a plain MQTT CONNECT to the TLS port");
  }
  SUBCASE("an HTTP request") {
    const std::string get = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    send_raw(sockets.client, std::vector<uint8_t>(get.begin(), get.end()));
    size_t total = 0;
    CHECK(read_until_settled(server, sockets.server, total) == Io::Error);
    CHECK(contains(server.error(), "plain HTTP request"));
  }
  SUBCASE("a handshake record header followed by garbage") {
    std::vector<uint8_t> bytes = {0x16, 0x03, 0x01, 0x00, 0x40};
    const auto junk = pattern(64);
    bytes.insert(bytes.end(), junk.begin(), junk.end());
    send_raw(sockets.client, bytes);
    size_t total = 0;
    CHECK(read_until_settled(server, sockets.server, total) == Io::Error);
    CHECK(contains(server.error(), "tls handshake failed: "));
  }
  CHECK_FALSE(server.has_ssl_for_test());  // freed at the error
  CHECK(server.read(buf, sizeof buf, got) == Io::Error);  // and it stays failed
  size_t written = 1;
  CHECK(server.writev(nullptr, 0, written) == Io::Error);
  CHECK(written == 0);
}
