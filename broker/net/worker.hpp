// Worker: one event loop on one thread (epoll), owning its connections and the sessions homed on
// it; nothing else touches them. It accepts from its own SO_REUSEPORT listeners, reads and feeds
// bytes to each ClientLink, routes publishes through the shared Router, and hands deliveries for
// sessions on other workers to their inbox as one task per message (one MessageRef plus the list
// of that worker's targets). Writes are batched: routing only enqueues and marks a connection
// dirty; before each epoll_wait every dirty connection is flushed with writev, and EPOLLOUT is
// armed only if bytes remain (Redis's handleClientsWithPendingWrites).
#pragma once

#include <sys/epoll.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/fd_budget.hpp"
#include "core/session_host.hpp"
#include "net/loop_guest.hpp"
#include "session/client_link.hpp"
#include "session/services.hpp"
#include "tls/context_holder.hpp"
#include "tls/stream.hpp"

namespace hydrant::net {

class Worker final : public core::SessionHost {
 public:
  Worker(core::Broker& broker, uint32_t index, session::Limits limits);
  ~Worker() override;

  // Adds a listening socket (non-blocking) served by this worker; `tls`: its connections speak
  // TLS with the context set_tls() gave. Before start() only.
  void add_listener(int fd, bool tls = false);
  void set_tls(std::shared_ptr<tls::ContextHolder> contexts) { tls_contexts_ = std::move(contexts); }
  // Runs `guest` on this worker's loop (loop_guest.hpp). Before start() only; at most one.
  void host_guest(LoopGuest& guest);
  // Starts the loop thread. Does not block.
  void start() override;
  void join() override;

  void wants_write(session::ClientLink& link) override;

 private:
  struct Connection {
    Connection(int fd, session::Services& services, uint64_t id, util::PeerAddress peer,
               fanout::Clock::time_point now)
        : fd(fd), link(services, id, peer, now) {}
    int fd = -1;
    bool want_out = false;  // EPOLLOUT armed
    bool dirty = false;     // in dirty_ list
    bool peer_gone = false;  // the peer closed or the socket failed: close without lingering
    bool lingering = false;  // we closed: draining input until the peer closes or a deadline
    fanout::Clock::time_point linger_until;
    session::ClientLink link;
    std::unique_ptr<tls::Stream> tls;  // MQTT over TLS; null for plain TCP
  };
  struct Listener {
    int fd;
    bool tls;
    bool paused = false;  // out of descriptors: not polled until the next tick
  };

  void run();
  void accept_all(Listener& listener);
  void adopt(int fd, const sockaddr_storage& peer, bool tls);
  // Out of descriptors (EMFILE/ENFILE): refuse one pending connection with the spare descriptor;
  // false when there is no spare (the listener is then paused until the next tick).
  bool refuse_with_spare(int listen_fd, int err);
  void pause_accepting(Listener& listener);
  void resume_accepting();
  void on_readable(Connection& c);
  void read_tls(Connection& c);
  bool write_tls(Connection& c);  // false: the connection failed
  void on_writable(Connection& c);
  void flush(Connection& c);
  void flush_dirty();
  void close_connection(uint64_t id, bool linger = true);
  void drain_lingering(Connection& c);
  void reap_closed();
  void tick();
  void shutdown_all();
  Connection* find(uint64_t conn_id);

  session::ClientLink* link_for(uint64_t conn_id) override;
  void close_link(uint64_t conn_id) override { closing_.push_back(conn_id); }
  void wake() override;

  fanout::Clock::time_point next_tick_;

  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::vector<Listener> listeners_;
  // The reserve-descriptor technique: spare fds (/dev/null) closed when accept() runs out of
  // descriptors, so the pending connection can be accepted and closed instead of spinning, and
  // the log line about it (and a sanitizer runtime, which needs a pipe) has room too.
  void release_spares();
  bool take_spares();  // false: the process is still out of descriptors
  std::array<int, 4> spare_fds_{-1, -1, -1, -1};
  core::RateLimitedCount fd_exhausted_log_;
  core::RateLimitedCount refused_log_;
  core::RateLimitedCount accept_error_log_;
  std::shared_ptr<tls::ContextHolder> tls_contexts_;
  LoopGuest* guest_ = nullptr;
  std::thread thread_;

  uint64_t next_conn_id_;  // unique across workers: index in the high bits
  // Connections live in the map's nodes (stable addresses): one allocation per connection.
  std::unordered_map<uint64_t, Connection> conns_;
  std::vector<uint64_t> dirty_;
  std::vector<uint64_t> closing_;

  // One read buffer for all connections of this loop: links parse in place and keep only
  // partial packets, so idle connections hold no read memory.
  std::vector<uint8_t> read_buf_ = std::vector<uint8_t>(64 * 1024);
};

}  // namespace hydrant::net
