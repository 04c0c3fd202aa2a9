// Worker: one event loop on one thread (epoll), owning its connections and the sessions homed on
// it; nothing else touches them. It accepts from its own SO_REUSEPORT listeners, reads and feeds
// bytes to each ClientLink, routes publishes through the shared Router, and hands deliveries for
// sessions on other workers to their inbox as one task per message (one MessageRef plus the list
// of that worker's targets). Writes are batched: routing only enqueues and marks a connection
// dirty; before each epoll_wait every dirty connection is flushed with writev, and EPOLLOUT is
// armed only if bytes remain (Redis's handleClientsWithPendingWrites).
#pragma once

#include <sys/epoll.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "net/tasks.hpp"
#include "session/client_link.hpp"
#include "session/services.hpp"

namespace hydrant::net {

class Broker;

class Worker final : public session::Services {
 public:
  Worker(Broker& broker, uint32_t index, session::Limits limits);
  ~Worker() override;

  // Adds a listening socket (non-blocking) served by this worker. Before start() only.
  void add_listener(int fd);
  // Starts the loop thread. Does not block.
  void start();
  // Asks the loop to close every connection and exit; thread-safe, does not block. join() waits.
  void stop();
  void join();
  // Queues a task for this worker; thread-safe, never blocks on the loop.
  void post(Task task);

  uint32_t index() const { return index_; }
  const metrics::Counters& counters_view() const { return counters_; }

  // ---- session::Services ----
  const session::Limits& limits() const override { return limits_; }
  fanout::Clock::time_point now() const override { return now_; }
  metrics::Counters& counters() override { return counters_; }
  void open_session(session::ClientLink& link, bool clean_start) override;
  void close_session(session::ClientLink& link, bool publish_will) override;
  void wants_write(session::ClientLink& link) override;
  void publish(const fanout::MessageRef& msg) override;
  bool subscribe(session::Session& s, std::string_view filter,
                 const codec::SubscriptionOptions& options, uint32_t subscription_id) override;
  bool unsubscribe(session::Session& s, std::string_view filter) override;
  void retained_for(std::string_view filter, std::vector<fanout::MessageRef>& out) override;

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
  };

  void run();
  void accept_all(int listen_fd);
  void on_readable(Connection& c);
  void on_writable(Connection& c);
  void flush(Connection& c);
  void flush_dirty();
  void close_connection(uint64_t id, bool linger = true);
  void drain_lingering(Connection& c);
  void reap_closed();
  void tick();
  void drain_inbox();
  void handle(Task&& task);
  void handle_deliver(DeliverTask& t);
  void deliver_local(const fanout::MessageRef& msg, const router::Target& target);
  void handle_migrate(const MigrateTask& t);
  void handle_arrive(ArriveTask& t);
  void take_over_local(session::Session& s);
  void end_session(router::SessionId id);
  void publish_will(session::Session& s);
  void expire_sessions();
  void shutdown_all();
  session::Session& new_session(const router::HandleRef& handle);
  Connection* find(uint64_t conn_id);

  Broker& broker_;
  const uint32_t index_;
  session::Limits limits_;
  metrics::Counters counters_;
  fanout::Clock::time_point now_;
  fanout::Clock::time_point next_tick_;

  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::vector<int> listeners_;
  std::thread thread_;
  bool running_ = false;

  uint64_t next_conn_id_;  // unique across workers: index in the high bits
  // Connections live in the map's nodes (stable addresses): one allocation per connection.
  std::unordered_map<uint64_t, Connection> conns_;
  std::vector<uint64_t> dirty_;
  std::vector<uint64_t> closing_;

  std::unordered_map<router::SessionId, std::unique_ptr<session::Session>> sessions_;
  // Sessions on their way here from another worker: the connection waiting for each, and the
  // deliveries that arrived before it.
  std::unordered_map<router::SessionId, uint64_t> awaiting_arrival_;
  std::unordered_map<router::SessionId, std::vector<DeliverTask>> in_transit_;
  // Takeovers that reached this worker before the session did: the worker to pass it on to, or
  // kEndOnArrival when a clean start elsewhere replaced it.
  static constexpr uint32_t kEndOnArrival = 0xFFFFFFFF;
  std::unordered_map<router::SessionId, uint32_t> deferred_migrations_;

  std::mutex inbox_mutex_;
  std::vector<Task> inbox_;
  std::vector<Task> inbox_work_;
  std::vector<router::Target> match_scratch_;
  // One read buffer for all connections of this loop: links parse in place and keep only
  // partial packets, so idle connections hold no read memory.
  std::vector<uint8_t> read_buf_ = std::vector<uint8_t>(64 * 1024);
  std::vector<std::vector<router::Target>> remote_scratch_;
};

}  // namespace hydrant::net
