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

namespace hydrant::net {

namespace {

int open_one(const ListenAddress& addr, uint16_t port, bool reuse_port) {
  sockaddr_storage ss{};
  socklen_t len;
  int family;
  const std::string host = addr.host.empty() ? "0.0.0.0" : addr.host;
  if (auto* a4 = reinterpret_cast<sockaddr_in*>(&ss); inet_pton(AF_INET, host.c_str(), &a4->sin_addr) == 1) {
    a4->sin_family = family = AF_INET;
    a4->sin_port = htons(port);
    len = sizeof(sockaddr_in);
  } else if (auto* a6 = reinterpret_cast<sockaddr_in6*>(&ss);
             inet_pton(AF_INET6, host.c_str(), &a6->sin6_addr) == 1) {
    a6->sin6_family = family = AF_INET6;
    a6->sin6_port = htons(port);
    len = sizeof(sockaddr_in6);
  } else {
    throw std::runtime_error(fmt::format("listen {}: not an IP address", host));
  }
  const int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
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

}  // namespace hydrant::net
