// Listening sockets. See listener.hpp.
#include "net/listener.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

#include "net/worker.hpp"
#include "util/peer_address.hpp"

namespace hydrant::net {

namespace {

int open_one(const ListenAddress& addr, uint16_t port, bool reuse_port) {
  const std::string host = addr.host.empty() ? "0.0.0.0" : addr.host;
  auto ip = util::PeerAddress::parse_ip(host);
  if (!ip) throw std::runtime_error(fmt::format("listen {}: not an IP address", host));
  ip->port = port;
  sockaddr_storage ss{};
  const socklen_t len = ip->to_sockaddr(ss);
  const int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(fmt::format("socket: {}", strerror(errno)));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (reuse_port) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 ||
      (reuse_port && listen(fd, 4096) != 0)) {
    const int err = errno;
    ::close(fd);
    throw std::runtime_error(fmt::format("listen {}:{}: {}", host, port, strerror(err)));
  }
  return fd;
}

uint16_t local_port(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
}

}  // namespace

std::vector<int> open_listeners(const ListenAddress& addr, unsigned count, uint16_t& bound_port) {
  // SO_REUSEPORT would let a second broker of the same user share the port silently: bind once
  // without it first, so an address in use fails as it should, then open the shared sockets.
  const int probe = open_one(addr, addr.port, /*reuse_port=*/false);
  bound_port = local_port(probe);  // with port 0, every socket takes the one chosen here
  ::close(probe);
  std::vector<int> fds;
  try {
    for (unsigned i = 0; i < count; ++i) fds.push_back(open_one(addr, bound_port, true));
  } catch (...) {
    for (int fd : fds) ::close(fd);
    throw;
  }
  return fds;
}

uint16_t listen_on(std::span<Worker* const> workers, const ListenAddress& addr, bool tls) {
  uint16_t port = 0;
  auto fds = open_listeners(addr, static_cast<unsigned>(workers.size()), port);
  for (size_t i = 0; i < fds.size(); ++i) workers[i]->add_listener(fds[i], tls);
  return port;
}

}  // namespace hydrant::net
