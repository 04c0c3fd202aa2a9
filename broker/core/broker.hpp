// Broker: what every session host shares (the Router, the SessionRegistry, the connection count,
// the message log's checkpoints) and the hosts themselves, whatever their transport: the TCP
// workers (net/) and the WebSocket bridge (bridge/) are added by whoever builds the process.
// Starts, stops and reconfigures them; publishes $SYS statistics from host 0's tick.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "metrics/sys_topics.hpp"
#include "metrics/topic_activity.hpp"
#include "core/queue_monitor.hpp"
#include "core/session_host.hpp"
#include "pulse/exchange_registry.hpp"
#include "router/router.hpp"
#include "router/session_registry.hpp"
#include "session/limits.hpp"
#include "store/durable_store.hpp"

namespace hydrant::core {

struct BrokerOptions {
  unsigned threads = 1;
  session::Limits limits;
  uint32_t sys_interval = 10;    // seconds; 0 = off
  uint32_t max_connections = 0;  // 0 = automatic: below the descriptor limit (fd_budget.hpp)
  std::string version;
  // Who may connect, publish, subscribe; null = open (no rules), as in the unit tests.
  std::shared_ptr<auth::AccessControl> access;
  // Run for every notice to a queue's owner (owner, e-mails, kind, text); empty = none.
  std::string notify_command;
  // The message log (history, confirmed publish, durable sessions); null = none.
  std::shared_ptr<store::DurableStore> store;
};

class Broker {
 public:
  explicit Broker(BrokerOptions options);
  ~Broker();

  // Adds a session host, whose index must be host_count(). Before start() only. The first
  // `threads` hosts (BrokerOptions) are the TCP workers: persistent sessions restored from the
  // log are spread over them.
  void add_host(std::unique_ptr<SessionHost> host);
  // Starts every host. Does not block.
  void start();
  // Asks every host to close its connections and exit, then waits for them. Blocks.
  void stop();
  // Applies new limits and intervals to running workers. Thread-safe, does not block.
  void reconfigure(const session::Limits& limits, uint32_t sys_interval, uint32_t max_connections);
  auth::AccessControl& access() { return *options_.access; }
  // The users table changed: every host closes the connections whose credentials are no longer
  // valid (user deleted, access token rotated). Thread-safe, does not block.
  void revalidate_credentials();

  // ---- for the admin API (thread-safe; figures as of each host's last second) ----
  std::vector<QueueSummary> queues() const;
  // Connections per authenticated user, and the anonymous ones.
  std::vector<std::pair<std::string, uint32_t>> connections_per_user(uint32_t& anonymous) const;
  // Ends the session with this client id wherever it lives (its connection is closed); false
  // when there is none.
  bool end_session(const std::string& client_id);
  // Another node of the cluster has the session of this client id now: it ends here without its
  // will (SessionHost::give_up_session). Thread-safe.
  void give_up_session(const std::string& client_id);
  // A session of a node of the cluster that died, now this node's: restored offline, with its
  // will, on a TCP worker. Thread-safe.
  void adopt_session(const std::string& client_id, store::StoredSession stored);
  // Runs the notify command for a notice, without waiting for it. Thread-safe.
  void notify_owner(const Notice& notice);
  QueueMonitor& queue_monitor() { return queue_monitor_; }
  pulse::ExchangeRegistry& exchanges() { return exchanges_; }
  // Bumped when an exchange is deleted, so that hosts forget what they cached.
  uint64_t exchanges_generation() const { return exchanges_generation_.load(std::memory_order_relaxed); }
  bool delete_exchange(std::string_view owner, std::string_view name) {
    const bool removed = exchanges_.remove(owner, name);
    if (removed) exchanges_generation_.fetch_add(1);
    return removed;
  }

  router::Router& router() { return router_; }
  router::SessionRegistry& registry() { return registry_; }
  // Every session host (TCP workers first, then the WebSocket bridge), by index.
  SessionHost& host(uint32_t i) { return *hosts_[i]; }
  uint32_t host_count() const { return static_cast<uint32_t>(hosts_.size()); }

  // Connection cap (max-connections); called by workers on accept and close.
  bool admit_connection();
  void release_connection();
  uint32_t max_connections() const { return max_connections_.load(std::memory_order_relaxed); }

  // The broker's figures now (every host summed), for $SYS and the HTTP API. Any thread.
  metrics::Snapshot snapshot() const;
  std::vector<metrics::PrefixStats> activity() const;

  // Memory a closed connection or an ended session gave back to the allocator (an estimate, in
  // bytes). Any thread. See trim_memory().
  void note_released(size_t bytes) { released_.fetch_add(bytes, std::memory_order_relaxed); }

  // Called on worker 0's loop every tick: publishes $SYS when due.
  void on_main_tick(SessionHost& w, fanout::Clock::time_point now);

  // ---- the message log ----
  store::DurableStore* store() { return options_.store.get(); }
  // Messages the store routes itself (a cluster's log, from its stream), each with the routing
  // keys it was copied to: routed in order on the first host, like publishes there, one task
  // for the batch. Thread-safe; after start().
  void route_from_log(std::vector<std::pair<fanout::MessageRef, std::vector<std::string>>> batch);
  // Before start(): brings back the persistent sessions, their subscriptions and the messages
  // they had not received, and the retained messages, as the store recovered them.
  void restore_from_store();
  // Before start(), once the declared exchanges are loaded: the exchanges history holds are
  // registered again, with their traffic (exchange_recovery.hpp). Returns how many.
  size_t recover_exchanges();
  // Once a second, from the main thread: the store's retention and snapshots, and a checkpoint
  // that moves the routed watermark on.
  void on_second();
  // glibc keeps what is freed in its arenas for reuse: after many stuck subscribers closed, the
  // broker kept gigabytes it no longer used (issue 13 item 5; malloc_trim(0) returned all of it,
  // so it was retention, not a leak). Once note_released() has counted kTrimAfter since the last
  // trim, and at most every kTrimEvery, this hands the arenas' free pages back to the system.
  // From on_second(), on the main thread: the workers' loops never wait for the walk.
  void trim_memory(fanout::Clock::time_point now);
  static constexpr size_t kTrimAfter = size_t{64} << 20;
  static constexpr std::chrono::seconds kTrimEvery{10};

  // Every message logged up to here has reached the queues of its sessions (see Checkpoint).
  uint64_t routed_watermark() const { return routed_watermark_.load(std::memory_order_acquire); }
  // A host passed one round of a checkpoint.
  void barrier_passed(const std::shared_ptr<Checkpoint>& c);

 private:
  BrokerOptions options_;
  pulse::ExchangeRegistry exchanges_;
  std::atomic<uint64_t> exchanges_generation_{0};
  QueueMonitor queue_monitor_;
  router::Router router_;
  router::SessionRegistry registry_;
  std::vector<std::unique_ptr<SessionHost>> hosts_;
  void set_max_connections(uint32_t configured);  // 0: automatic (fd_budget.hpp)
  std::atomic<uint32_t> max_connections_;
  std::atomic<uint32_t> sys_interval_;
  std::atomic<int64_t> connections_{0};
  std::atomic<uint64_t> routed_watermark_{0};
  std::atomic<bool> checkpoint_running_{false};
  fanout::Clock::time_point started_;
  fanout::Clock::time_point next_sys_;
  std::atomic<size_t> released_{0};
  fanout::Clock::time_point next_trim_{};
};

}  // namespace hydrant::core
