// Worker: the TCP event loop, accepting, reading, batched writing and timers. Session ownership
// and the Services implementation are SessionHost's (session_host.cpp).
#include "net/worker.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <stdexcept>

#include "core/broker.hpp"
#include "util/log.hpp"

namespace hydrant::net {

namespace {

// epoll user data: connection ids have the worker index in the high bits and never collide
// with these markers.
constexpr uint64_t kWakeTag = 0;
constexpr uint64_t kGuestTag = 1ULL << 62;
constexpr uint64_t kListenTagBit = 1ULL << 63;
constexpr auto kTickPeriod = std::chrono::milliseconds(250);
constexpr int kMaxIov = IOV_MAX < 1024 ? IOV_MAX : 1024;

}  // namespace

Worker::Worker(core::Broker& broker, uint32_t index, session::Limits limits)
    : SessionHost(broker, index, limits), next_conn_id_((static_cast<uint64_t>(index) << 40) + 1) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0) throw std::runtime_error("epoll/eventfd: " + std::string(strerror(errno)));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeTag;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  take_spares();
}

Worker::~Worker() {
  for (auto& [id, c] : conns_) ::close(c.fd);
  for (const Listener& l : listeners_) ::close(l.fd);
  if (wake_fd_ >= 0) ::close(wake_fd_);
  release_spares();
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

void Worker::add_listener(int fd, bool tls) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kListenTagBit | static_cast<uint64_t>(listeners_.size());
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
  listeners_.push_back({fd, tls});
}

void Worker::host_guest(LoopGuest& guest) {
  guest_ = &guest;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kGuestTag;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, guest.poll_fd(), &ev) != 0) {
    throw std::runtime_error("epoll: cannot poll the WebSocket bridge's loop: " +
                             std::string(strerror(errno)));
  }
}

void Worker::start() {
  thread_ = std::thread([this] { run(); });
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::wake() {
  uint64_t one = 1;
  ssize_t ignored = ::write(wake_fd_, &one, sizeof one);
  (void)ignored;
}

void Worker::run() {
  epoll_event events[256];
  next_tick_ = fanout::Clock::now() + kTickPeriod;
  if (guest_) guest_->attach();
  while (!stopping()) {
    flush_dirty();
    reap_closed();
    if (guest_) guest_->run_once();
    now_ = fanout::Clock::now();
    const auto until_tick = std::chrono::duration_cast<std::chrono::milliseconds>(next_tick_ - now_);
    int wait = until_tick.count() < 0 ? 0 : static_cast<int>(until_tick.count()) + 1;
    if (guest_) {
      const int guest_wait = guest_->timeout_ms();
      if (guest_wait >= 0 && guest_wait < wait) wait = guest_wait;
    }
    const int n = epoll_wait(epoll_fd_, events, 256, wait);
    now_ = fanout::Clock::now();
    for (int i = 0; i < n; ++i) {
      const uint64_t tag = events[i].data.u64;
      if (tag == kGuestTag) {
        continue;  // run at the end of this pass
      } else if (tag == kWakeTag) {
        uint64_t v;
        ssize_t ignored = ::read(wake_fd_, &v, sizeof v);
        (void)ignored;
        drain_inbox();
      } else if (tag & kListenTagBit) {
        accept_all(listeners_[tag & ~kListenTagBit]);
      } else if (Connection* c = find(tag)) {
        if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(*c);
        if ((events[i].events & EPOLLOUT) && find(tag)) on_writable(*c);
      }
    }
    if (now_ >= next_tick_) {
      tick();
      next_tick_ = now_ + kTickPeriod;
    }
  }
  if (guest_) guest_->detach();
  shutdown_all();
}

void Worker::accept_all(Listener& listener) {
  const int listen_fd = listener.fd;
  for (;;) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    const int fd = accept4(listen_fd, reinterpret_cast<sockaddr*>(&ss), &len,
                           SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      const int err = errno;
      if (err == EMFILE || err == ENFILE) {
        if (refuse_with_spare(listen_fd, err)) continue;
      } else if (const uint64_t n = accept_error_log_.add(now_)) {
        log::warn("worker={} event=accept-failed error=\"{}\" count={}", index_, strerror(err), n);
      }
      // The listener is level-triggered: retrying now would spin on the same error.
      pause_accepting(listener);
      return;
    }
    if (!broker_.admit_connection()) {
      // Closed at once: the client sees the connection end instead of waiting in the backlog.
      ::close(fd);
      if (const uint64_t n = refused_log_.add(now_)) {
        log::warn("worker={} event=refused why=\"max-connections reached\" max={} count={}",
                  index_, broker_.max_connections(), n);
      }
      continue;
    }
    adopt(fd, ss, listener.tls);
  }
}

bool Worker::refuse_with_spare(int listen_fd, int err) {
  if (spare_fds_[0] < 0) return false;
  release_spares();
  if (const uint64_t n = fd_exhausted_log_.add(now_)) {
    log::error("worker={} event=accept-failed error=\"{}\" refused={} note=\"out of "
               "descriptors: refusing new connections; raise ulimit -n or lower "
               "max-connections\"", index_, strerror(err), n);
  }
  const int fd = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd >= 0) ::close(fd);
  // Another thread may have taken the freed slots: then this accept failed too.
  return take_spares() && fd >= 0;
}

void Worker::release_spares() {
  for (int& fd : spare_fds_) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
}

bool Worker::take_spares() {
  for (int& fd : spare_fds_) {
    if (fd < 0) fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      release_spares();  // all or none: a partial set would leave no room to log
      return false;
    }
  }
  return true;
}

void Worker::pause_accepting(Listener& listener) {
  if (listener.paused) return;
  epoll_event ev{};  // no events: stays registered, not reported
  ev.data.u64 = kListenTagBit | static_cast<uint64_t>(&listener - listeners_.data());
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, listener.fd, &ev);
  listener.paused = true;
}

void Worker::resume_accepting() {
  if (spare_fds_[0] < 0 && !take_spares()) return;  // still out: stay paused
  for (Listener& l : listeners_) {
    if (!l.paused) continue;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kListenTagBit | static_cast<uint64_t>(&l - listeners_.data());
    epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, l.fd, &ev);
    l.paused = false;
  }
}

void Worker::adopt(int fd, const sockaddr_storage& peer, bool tls) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const uint64_t id = next_conn_id_++;
  auto [it, added] =
      conns_.try_emplace(id, fd, *this, id, util::PeerAddress::from_sockaddr(peer), now_);
  if (tls) it->second.tls = std::make_unique<tls::Stream>(tls_contexts_->current(), fd);
  it->second.link.set_transport(tls ? metrics::Transport::Tls : metrics::Transport::Tcp);
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP;
  ev.data.u64 = id;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
  counters_.connections_total.add();
  counters_.clients_connected.add(1);
  counters_.of(it->second.link.transport()).connected.add(1);
}

Worker::Connection* Worker::find(uint64_t conn_id) {
  auto it = conns_.find(conn_id);
  return it == conns_.end() ? nullptr : &it->second;
}

session::ClientLink* Worker::link_for(uint64_t conn_id) {
  Connection* c = find(conn_id);
  return c ? &c->link : nullptr;
}

void Worker::on_readable(Connection& c) {
  if (c.lingering) return drain_lingering(c);
  auto& link = c.link;
  if (link.closing()) return;
  if (c.tls) return read_tls(c);
  // One read per wake-up keeps one busy client from starving the others (level-triggered).
  const ssize_t n = ::read(c.fd, read_buf_.data(), read_buf_.size());
  if (n > 0) {
    link.on_bytes(codec::ByteView(read_buf_.data(), static_cast<size_t>(n)));
  } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
    c.peer_gone = true;
    link.on_transport_closed();
  }
  if (link.closing()) closing_.push_back(link.conn_id());
}

void Worker::wants_write(session::ClientLink& link) {
  if (Connection* c = find(link.conn_id()); c && !c->dirty) {
    c->dirty = true;
    dirty_.push_back(link.conn_id());
  }
}

void Worker::read_tls(Connection& c) {
  auto& link = c.link;
  // Bytes OpenSSL already decrypted are invisible to epoll: read until none are left.
  do {
    size_t got = 0;
    const tls::Io io = c.tls->read(read_buf_.data(), read_buf_.size(), got);
    if (io == tls::Io::Ok) {
      link.on_bytes(codec::ByteView(read_buf_.data(), got));
      continue;
    }
    if (io == tls::Io::WantRead) break;
    if (io == tls::Io::WantWrite) {  // a handshake or renegotiation record waits for room
      if (!c.dirty) {
        c.dirty = true;
        dirty_.push_back(link.conn_id());
      }
      break;
    }
    if (io == tls::Io::Error) {
      log::info("conn={} peer={} event=closed why=\"tls: {}\"", link.conn_id(),
                link.peer().to_string(), c.tls->error());
    }
    c.peer_gone = true;
    link.on_transport_closed();
    break;
  } while (!link.closing() && c.tls->has_buffered_input());
  // A read can leave a handshake record waiting for room while still returning data.
  if (!link.closing() && c.tls->wants_writable() && !c.dirty) {
    c.dirty = true;
    dirty_.push_back(link.conn_id());
  }
  if (link.closing()) closing_.push_back(link.conn_id());
}

bool Worker::write_tls(Connection& c) {
  auto& out = c.link.out();
  iovec iov[kMaxIov];
  while (!out.empty() || c.tls->has_pending_write()) {
    const int cnt = out.gather(iov, kMaxIov);
    size_t written = 0;
    const tls::Io io = c.tls->writev(iov, cnt, written);
    if (written > 0) {
      out.consume(written);
      counters_.bytes_sent.add(written);
      c.link.on_write_progress(now_);
    }
    if (io == tls::Io::Ok) continue;
    if (io == tls::Io::WantWrite || io == tls::Io::WantRead) return true;
    out.clear();  // the peer is gone or TLS failed
    c.peer_gone = true;
    c.link.on_transport_closed();
    closing_.push_back(c.link.conn_id());
    return false;
  }
  return true;
}

void Worker::flush(Connection& c) {
  auto& out = c.link.out();
  if (c.tls && !write_tls(c)) return;
  iovec iov[kMaxIov];
  while (!c.tls && !out.empty()) {
    const int cnt = out.gather(iov, kMaxIov);
    const ssize_t n = ::writev(c.fd, iov, cnt);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      out.clear();  // the peer is gone
      c.peer_gone = true;
      c.link.on_transport_closed();
      closing_.push_back(c.link.conn_id());
      return;
    }
    out.consume(static_cast<size_t>(n));
    counters_.bytes_sent.add(static_cast<uint64_t>(n));
    c.link.on_write_progress(now_);
  }
  const bool need_out = c.tls ? c.tls->wants_writable() : !out.empty();
  if (need_out != c.want_out) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | (need_out ? uint32_t{EPOLLOUT} : 0u);
    ev.data.u64 = c.link.conn_id();
    epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
    c.want_out = need_out;
  }
}

void Worker::on_writable(Connection& c) {
  if (c.tls && c.tls->read_wants_writable()) read_tls(c);
  if (c.link.closing() && c.peer_gone) return;
  flush(c);
  // Room again: let the session move queued messages into the freed budget.
  if (auto* s = c.link.session()) s->pump(now_);
  if (!c.link.out().empty() && !c.dirty) {
    c.dirty = true;
    dirty_.push_back(c.link.conn_id());
  }
}

void Worker::flush_dirty() {
  // Flushing may pump sessions, which may dirty more connections: loop on a swapped list.
  while (!dirty_.empty()) {
    std::vector<uint64_t> batch;
    batch.swap(dirty_);
    for (uint64_t id : batch) {
      Connection* c = find(id);
      if (!c) continue;
      c->dirty = false;
      flush(*c);
      if (c->link.out().pending_bytes() < limits_.outbound_budget) {
        if (auto* s = c->link.session()) s->pump(now_);
      }
    }
  }
}

void Worker::reap_closed() {
  while (!closing_.empty()) {
    std::vector<uint64_t> batch;
    batch.swap(closing_);
    for (uint64_t id : batch) close_connection(id);
  }
}

// Closing a connection we decided to end is a "lingering close": the final CONNACK/DISCONNECT is
// flushed, the write side shut, and input drained until the peer closes or a second passes.
// Closing at once with unread input would make the kernel send RST, which can destroy the
// DISCONNECT before the client reads it.
void Worker::close_connection(uint64_t id, bool linger) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  Connection& c = it->second;
  if (linger && c.lingering) return;  // already draining; the tick or the peer ends it
  // What its unsent messages held (counted once: a lingering close has cleared them already).
  if (!c.lingering) broker_.note_released(c.link.out().footprint());
  c.link.on_transport_closed();      // no-op if the protocol already closed it
  if (linger && !c.peer_gone) {
    if (!c.link.out().empty() || (c.tls && c.tls->has_pending_write())) {
      iovec iov[kMaxIov];
      const int cnt = c.link.out().gather(iov, kMaxIov);
      // Best effort: a client that does not read loses it.
      if (c.tls) {
        size_t ignored = 0;
        (void)c.tls->writev(iov, cnt, ignored);
      } else {
        ssize_t ignored = ::writev(c.fd, iov, cnt);
        (void)ignored;
      }
      c.link.out().clear();
    }
    if (c.tls) c.tls->shutdown();  // close_notify
    ::shutdown(c.fd, SHUT_WR);
    c.lingering = true;
    c.linger_until = now_ + std::chrono::seconds(1);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = id;
    epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
    return;
  }
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.fd, nullptr);
  ::close(c.fd);
  counters_.of(c.link.transport()).connected.add(-1);
  conns_.erase(it);
  counters_.clients_connected.add(-1);
  broker_.release_connection();
}

void Worker::drain_lingering(Connection& c) {
  char sink[4096];
  const ssize_t n = ::read(c.fd, sink, sizeof sink);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
    close_connection(c.link.conn_id(), false);
  }
}

void Worker::tick() {
  std::vector<uint64_t> expired_lingers;
  for (auto& [id, c] : conns_) {
    if (c.lingering) {
      if (now_ >= c.linger_until) expired_lingers.push_back(id);
      continue;
    }
    c.link.on_tick(now_);
    if (c.link.closing()) closing_.push_back(id);
  }
  for (uint64_t id : expired_lingers) close_connection(id, false);
  resume_accepting();  // listeners paused out of descriptors get another try (backoff: a tick)
  expire_sessions();
  if (index_ == 0) broker_.on_main_tick(*this, now_);
}

void Worker::shutdown_all() {
  // Server shutting down: MQTT 5 clients are told so [MQTT-3.14.2-1 allows the server to send it].
  std::vector<uint64_t> ids;
  for (auto& [id, c] : conns_) ids.push_back(id);
  for (uint64_t id : ids) {
    Connection* c = find(id);
    if (c->link.state() == session::LinkState::Connected &&
        c->link.version() == codec::ProtocolVersion::V5) {
      c->link.out().push_packet(codec::Disconnect{ReasonCode::ServerShuttingDown, {}},
                                 codec::ProtocolVersion::V5);
      flush(*c);
    }
    close_connection(id, false);
  }
}

}  // namespace hydrant::net
