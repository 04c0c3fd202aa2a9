// PeerAddress: built from what accept() returns, printed the way the log lines show it.
#include <doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

#include "util/peer_address.hpp"

using hydrant::util::PeerAddress;

TEST_CASE("PeerAddress from an IPv4 sockaddr") {
  sockaddr_storage ss{};
  auto* a = reinterpret_cast<sockaddr_in*>(&ss);
  a->sin_family = AF_INET;
  a->sin_port = htons(51234);
  REQUIRE(inet_pton(AF_INET, "203.0.113.45", &a->sin_addr) == 1);
  const PeerAddress p = PeerAddress::from_sockaddr(ss);
  CHECK(p.family == PeerAddress::Family::V4);
  CHECK(p.port == 51234);
  CHECK(p.to_string() == "203.0.113.45:51234");
}

TEST_CASE("PeerAddress from an IPv6 sockaddr is bracketed") {
  sockaddr_storage ss{};
  auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
  a->sin6_family = AF_INET6;
  a->sin6_port = htons(1883);
  REQUIRE(inet_pton(AF_INET6, "2001:db8::1", &a->sin6_addr) == 1);
  const PeerAddress p = PeerAddress::from_sockaddr(ss);
  CHECK(p.family == PeerAddress::Family::V6);
  CHECK(p.to_string() == "[2001:db8::1]:1883");
  CHECK(p != PeerAddress{});
}

TEST_CASE("PeerAddress of another family is unknown") {
  sockaddr_storage ss{};
  ss.ss_family = AF_UNIX;
  const PeerAddress p = PeerAddress::from_sockaddr(ss);
  CHECK(p.family == PeerAddress::Family::Unknown);
  CHECK(p.to_string() == "?");
  CHECK(p == PeerAddress{});
}

TEST_CASE("PeerAddress::parse_ip takes IPv4 and IPv6 literals only") {
  auto v4 = PeerAddress::parse_ip("198.51.100.7");
  REQUIRE(v4.has_value());
  CHECK(v4->family == PeerAddress::Family::V4);
  CHECK(v4->to_string() == "198.51.100.7:0");
  auto v6 = PeerAddress::parse_ip("2001:db8::2");
  REQUIRE(v6.has_value());
  CHECK(v6->to_string() == "[2001:db8::2]:0");
  CHECK_FALSE(PeerAddress::parse_ip("").has_value());
  CHECK_FALSE(PeerAddress::parse_ip("example.org").has_value());
  CHECK_FALSE(PeerAddress::parse_ip("198.51.100.7:80").has_value());
  CHECK_FALSE(PeerAddress::parse_ip(std::string(200, '1')).has_value());
}

TEST_CASE("PeerAddress: an IPv4-mapped IPv6 peer (a dual-stack socket) is IPv4") {
  sockaddr_storage ss{};
  auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
  a->sin6_family = AF_INET6;
  a->sin6_port = htons(4242);
  REQUIRE(inet_pton(AF_INET6, "::ffff:127.0.0.1", &a->sin6_addr) == 1);
  const PeerAddress p = PeerAddress::from_sockaddr(ss);
  CHECK(p.family == PeerAddress::Family::V4);
  CHECK(p.to_string() == "127.0.0.1:4242");
  CHECK(p.bytes == PeerAddress::parse_ip("127.0.0.1")->bytes);
}

TEST_CASE("PeerAddress::parse_ip: an IPv4-mapped literal is IPv4; ip_string is canonical") {
  auto mapped = PeerAddress::parse_ip("::ffff:10.0.0.1");
  REQUIRE(mapped.has_value());
  CHECK(mapped->family == PeerAddress::Family::V4);
  CHECK(mapped->ip_string() == "10.0.0.1");
  CHECK(PeerAddress::parse_ip("2001:DB8:0:0::1")->ip_string() == "2001:db8::1");
}
