#include "util/peer_address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

#include <fmt/format.h>

namespace hydrant::util {

PeerAddress PeerAddress::from_sockaddr(const sockaddr_storage& ss) {
  PeerAddress p;
  if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    p.family = Family::V4;
    p.port = ntohs(a->sin_port);
    std::memcpy(p.bytes.data(), &a->sin_addr, 4);
  } else if (ss.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    p.port = ntohs(a->sin6_port);
    if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
      // An IPv4 client on a dual-stack socket (libwebsockets listens so) is an IPv4 client.
      p.family = Family::V4;
      std::memcpy(p.bytes.data(), reinterpret_cast<const uint8_t*>(&a->sin6_addr) + 12, 4);
    } else {
      p.family = Family::V6;
      std::memcpy(p.bytes.data(), &a->sin6_addr, 16);
    }
  }
  return p;
}

socklen_t PeerAddress::to_sockaddr(sockaddr_storage& ss) const {
  std::memset(&ss, 0, sizeof ss);
  if (family == Family::V4) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    std::memcpy(&a->sin_addr, bytes.data(), 4);
    return sizeof *a;
  }
  if (family == Family::V6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    std::memcpy(&a->sin6_addr, bytes.data(), 16);
    return sizeof *a;
  }
  return 0;
}

std::optional<PeerAddress> PeerAddress::parse_ip(std::string_view text) {
  char buf[INET6_ADDRSTRLEN + 1];
  if (text.empty() || text.size() >= sizeof buf) return std::nullopt;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  PeerAddress p;
  if (inet_pton(AF_INET, buf, p.bytes.data()) == 1) {
    p.family = Family::V4;
    return p;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, buf, &v6) == 1) {
    sockaddr_storage ss{};
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_addr = v6;
    return from_sockaddr(ss);  // the same IPv4-mapped rule as for a peer
  }
  return std::nullopt;
}

std::string PeerAddress::ip_string() const {
  char buf[INET6_ADDRSTRLEN] = "?";
  if (family == Family::V4) inet_ntop(AF_INET, bytes.data(), buf, sizeof buf);
  if (family == Family::V6) inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
  return buf;
}

std::string PeerAddress::to_string() const {
  switch (family) {
    case Family::V4:
      return fmt::format("{}:{}", ip_string(), port);
    case Family::V6:
      return fmt::format("[{}]:{}", ip_string(), port);
    case Family::Unknown:
      break;
  }
  return "?";
}

}  // namespace hydrant::util
