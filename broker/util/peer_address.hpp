// PeerAddress: a client's IP address and port in 20 bytes, kept by every connection for its log
// lines (and, later, per-address limits). A formatted string would cost a heap allocation per
// connection for most IPv4 peers ("203.0.113.45:51234" does not fit the small-string buffer).
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hydrant::util {

struct PeerAddress {
  enum class Family : uint8_t { Unknown, V4, V6 };

  // From what accept() returned; an IPv4-mapped IPv6 address is IPv4; any other family gives
  // Unknown.
  static PeerAddress from_sockaddr(const sockaddr_storage& ss);
  // An IPv4 or IPv6 literal without port (an X-Forwarded-For entry, a trusted-proxy setting);
  // an IPv4-mapped IPv6 literal is IPv4, as for a peer.
  static std::optional<PeerAddress> parse_ip(std::string_view text);
  // The socket address for bind() or connect(); returns its length, 0 for Unknown.
  socklen_t to_sockaddr(sockaddr_storage& ss) const;
  // The address alone, in inet_ntop's canonical form: "203.0.113.45", "2001:db8::1"; "?".
  std::string ip_string() const;
  // "203.0.113.45:51234", "[2001:db8::1]:51234", or "?" when unknown.
  std::string to_string() const;

  Family family = Family::Unknown;
  uint16_t port = 0;
  std::array<uint8_t, 16> bytes{};  // network order; IPv4 uses the first 4

  bool operator==(const PeerAddress&) const = default;
};

}  // namespace hydrant::util
