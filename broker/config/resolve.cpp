// Host names of listeners, resolved at start. See resolve.hpp.
#include "config/resolve.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>

#include <fmt/format.h>

namespace hydrant::config {

namespace {

bool ip_literal(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return host.empty() || inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

std::vector<std::string> addresses_of(const std::string& host, std::string_view key) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = getaddrinfo(host.c_str(), nullptr, &hints, &found); rc != 0) {
    throw ConfigError(fmt::format("{} {}: not an IP address, and it does not resolve ({}): change --{}",
                                  key, host, gai_strerror(rc), key));
  }
  std::vector<std::string> out;
  for (const addrinfo* a = found; a; a = a->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    const void* addr = a->ai_family == AF_INET
                           ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(a->ai_addr)->sin_addr)
                           : static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(a->ai_addr)->sin6_addr);
    if ((a->ai_family == AF_INET || a->ai_family == AF_INET6) && inet_ntop(a->ai_family, addr, text, sizeof text) &&
        std::find(out.begin(), out.end(), text) == out.end()) {
      out.emplace_back(text);
    }
  }
  freeaddrinfo(found);
  return out;
}

void resolve(std::vector<Endpoint>& endpoints, std::string_view key) {
  std::vector<Endpoint> out;
  for (const Endpoint& ep : endpoints) {
    if (ip_literal(ep.host)) {
      out.push_back(ep);
      continue;
    }
    for (auto& address : addresses_of(ep.host, key)) out.push_back({std::move(address), ep.port});
  }
  endpoints = std::move(out);
}

}  // namespace

void resolve_listener_hosts(Config& config) {
  resolve(config.mqtt, "mqtt");
  resolve(config.mqtts, "mqtts");
  resolve(config.http, "http");
  resolve(config.https, "https");
}

}  // namespace hydrant::config
