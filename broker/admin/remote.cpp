// The runtime file and a minimal HTTP/1.1 client for the admin API on loopback; see remote.hpp.
#include "admin/remote.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <signal.h>

#include <cerrno>
#include <chrono>
#include <thread>
#include <cstring>

#include <fmt/format.h>
#include <simdjson.h>

#include "base/json_writer.hpp"
#include "config/config.hpp"
#include "util/peer_address.hpp"
#include "util/files.hpp"

namespace hydrant::admin {

namespace {

std::string runtime_path(const std::string& data_dir) { return data_dir + "/runtime.json"; }

// A listener's address as a client reaches it: a wildcard becomes loopback.
bool to_sockaddr(std::string_view host_port, sockaddr_storage& ss, socklen_t& len) {
  config::Endpoint ep;
  try {
    ep = config::parse_endpoint(host_port);
  } catch (const config::ConfigError&) {
    return false;
  }
  if (ep.host == "0.0.0.0") ep.host = "127.0.0.1";
  if (ep.host == "::") ep.host = "::1";
  auto ip = util::PeerAddress::parse_ip(ep.host);
  if (!ip) return false;
  ip->port = ep.port;
  len = ip->to_sockaddr(ss);
  return len != 0;
}

std::string trimmed_file(const std::string& path, bool& exists) {
  std::string text = util::read_file(path, exists);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

}  // namespace

void write_runtime_file(const std::string& data_dir, const std::vector<std::string>& http,
                        uint64_t users_serial) {
  JsonWriter w;
  w.begin_object()
      .member("pid", static_cast<int64_t>(::getpid()))
      .member("users_serial", users_serial)
      .key("http")
      .begin_array();
  for (const auto& h : http) w.value(h);
  w.end_array().end_object();
  util::write_file_atomically(runtime_path(data_dir), w.str() + "\n", 0644);
}

bool wait_until_applied(const std::string& data_dir, uint64_t serial) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  simdjson::dom::parser parser;
  for (;;) {
    bool exists = false;
    const std::string text = util::read_file(runtime_path(data_dir), exists);
    if (!exists) return true;  // no broker: the file is all there is
    simdjson::dom::element doc;
    int64_t pid = 0;
    uint64_t applied = 0;
    if (!parser.parse(text).get(doc) && !doc["pid"].get(pid) && !doc["users_serial"].get(applied)) {
      if (pid <= 0 || (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)) return true;
      if (applied >= serial) return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void remove_runtime_file(const std::string& data_dir) { ::unlink(runtime_path(data_dir).c_str()); }

ApiReply call_admin_api(const std::string& data_dir, std::string_view method, std::string_view path,
                        std::string_view body) {
  bool exists = false;
  const std::string runtime = util::read_file(runtime_path(data_dir), exists);
  if (!exists) {
    throw RemoteError(fmt::format("no broker is running on {} (no runtime.json)", data_dir));
  }
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::dom::array http;
  if (parser.parse(runtime).get(doc) || doc["http"].get(http)) {
    throw RemoteError(fmt::format("{}: unreadable", runtime_path(data_dir)));
  }
  std::string address;
  for (auto h : http) {
    std::string_view s;
    if (!h.get(s)) {
      address = s;
      break;
    }
  }
  if (address.empty()) {
    throw RemoteError("the broker has no plain HTTP listener (http = off): use the admin API "
                      "over https instead");
  }
  const std::string token = trimmed_file(data_dir + "/admin-token", exists);
  if (!exists) throw RemoteError(fmt::format("{}/admin-token: cannot read it", data_dir));

  sockaddr_storage ss{};
  socklen_t len = 0;
  if (!to_sockaddr(address, ss, len)) throw RemoteError(fmt::format("bad address {}", address));
  const int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    const std::string why = std::strerror(errno);
    if (fd >= 0) ::close(fd);
    throw RemoteError(fmt::format("cannot reach the broker at {}: {}", address, why));
  }
  timeval timeout{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  const std::string request = fmt::format(
      "{} {} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n{}Connection: close\r\n\r\n{}",
      method, path, address, token,
      body.empty() ? std::string()
                   : fmt::format("Content-Type: application/json\r\nContent-Length: {}\r\n",
                                 body.size()),
      body);
  for (size_t sent = 0; sent < request.size();) {
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      ::close(fd);
      throw RemoteError("the broker closed the connection");
    }
    sent += static_cast<size_t>(n);
  }
  std::string response;
  char buf[8192];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) response.append(buf, static_cast<size_t>(n));
  ::close(fd);
  const auto head_end = response.find("\r\n\r\n");
  if (!response.starts_with("HTTP/1.") || head_end == std::string::npos || response.size() < 12) {
    throw RemoteError("no HTTP answer from the broker");
  }
  return ApiReply{std::atoi(response.c_str() + 9), response.substr(head_end + 4)};
}

}  // namespace hydrant::admin
