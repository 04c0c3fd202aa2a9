// SessionHost: one event-loop thread's share of the broker, whatever its transport. It owns the
// sessions that live on this thread, implements session::Services for their connections (open,
// close, takeover, migration between hosts, expiry, wills, routing), and takes tasks from other
// hosts through a thread-safe inbox. A connection's ClientLink and its Session always live on the
// same host.
//
// Transports derive from it — the TCP/TLS Worker (net/, epoll) and the WebSocket bridge
// (bridge/, libwebsockets) — and provide a small interface: a connection that can be written to
// (wants_write: bytes are queued on its ClientLink), found (link_for) and closed (close_link),
// a loop that can be woken from another thread (wake) and that runs drain_inbox() and, once per
// tick, expire_sessions(); start() and join(). Nothing here knows sockets or threads beyond that.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "metrics/topic_activity.hpp"
#include "core/queue_monitor.hpp"
#include "core/tasks.hpp"
#include "store/durable_store.hpp"
#include "session/client_link.hpp"
#include "session/services.hpp"
#include "util/string_hash.hpp"

namespace hydrant::core {

class Broker;

class SessionHost : public session::Services {
 public:
  SessionHost(Broker& broker, uint32_t index, session::Limits limits);
  ~SessionHost() override;

  // Queues a task for this host; thread-safe, never blocks on the loop.
  void post(Task task);
  // Asks the loop to close every connection and exit; thread-safe, does not block.
  void stop() { post(StopTask{}); }
  // Starts the loop thread; join() waits for it to end after stop().
  virtual void start() = 0;
  virtual void join() = 0;

  uint32_t index() const { return index_; }
  const metrics::Counters& counters_view() const { return counters_; }
  const metrics::TopicActivity& activity() const { return activity_; }
  metrics::TopicActivity& activity() { return activity_; }

  // What the admin API lists, as of this host's last once-a-second sweep. Thread-safe.
  struct Directory {
    std::vector<QueueSummary> queues;
    std::vector<std::pair<std::string, uint32_t>> connections_per_user;  // sorted by user
    uint32_t anonymous_connections = 0;
  };
  Directory directory() const;

  // ---- session::Services (wants_write is the transport's) ----
  const session::Limits& limits() const override { return limits_; }
  fanout::Clock::time_point now() const override { return now_; }
  metrics::Counters& counters() override { return counters_; }
  auth::AccessControl& access() override;
  void open_session(session::ClientLink& link, bool clean_start) override;
  void close_session(session::ClientLink& link, bool publish_will) override;
  bool publish(const fanout::MessageRef& msg, std::span<const std::string> cc_topics = {}) override;
  bool note_exchange(std::string_view topic) override;
  size_t exchange_levels(std::string_view topic) override;
  bool subscribe(session::Session& s, std::string_view filter,
                 const codec::SubscriptionOptions& options, uint32_t subscription_id) override;
  bool unsubscribe(session::Session& s, std::string_view filter) override;
  const char* subscription_refusal(const session::Session& s) const override;
  bool retained_after(std::string_view filter, std::string& after, size_t limit,
                      std::vector<fanout::MessageRef>& out) override;
  bool retain_allowed(std::string_view topic, bool deletes) override;
  // The message log (session_host_store.cpp).
  bool logs(std::string_view topic) const override;
  bool log_writable() const override;
  fanout::MessageRef log_message(session::ClientLink& link, const MessageFactory& make,
                                 bool confirm, uint16_t packet_id, uint8_t qos,
                                 std::span<const std::string> cc, bool resent) override;
  void session_attached(session::Session& s) override;
  std::optional<ReplayResult> replay(session::Session& s, std::string_view filter,
                                     std::string_view from,
                                     std::vector<fanout::MessageRef>& out) override;

  // Before start(): a persistent session the store recovered, offline, with its subscriptions.
  session::Session& restore_session(const router::HandleRef& handle,
                                    const store::StoredSession& stored);
  // A session another node of the cluster took over: closed here as by a takeover, and ended
  // without its will or its end recorded (it goes on there). On this host's loop.
  void give_up_session(router::SessionId id);
  // A session of a node that died, taken over by this one: restored offline with its will.
  void adopt_session(const std::string& client_id, const store::StoredSession& stored);

 protected:
  // ---- what the transport provides ----
  // The live connection with this id, or null.
  virtual session::ClientLink* link_for(uint64_t conn_id) = 0;
  // The protocol closed this connection: the transport closes it when the current event is done.
  virtual void close_link(uint64_t conn_id) = 0;
  // A task was queued: the loop must call drain_inbox() soon. Called from any thread.
  virtual void wake() = 0;

  // ---- for the transport's loop ----
  void drain_inbox();
  void expire_sessions();   // once per tick
  bool stopping() const { return stopping_; }
  // The session of `client_id` if it lives on this host, and how many do.
  session::Session* session_of(std::string_view client_id);
  size_t session_count() const { return sessions_.size(); }

  Broker& broker_;
  const uint32_t index_;
  session::Limits limits_;
  metrics::Counters counters_;
  metrics::TopicActivity activity_;  // publishes accepted on this host, per topic prefix
  fanout::Clock::time_point now_;

 private:
  void handle(Task&& task);
  void handle_deliver(DeliverTask& t);
  void revalidate_credentials();
  void sweep_queues();  // once a second: queue limits, notices, the directory
  void record_cursors();  // once a second: how far each persistent session has its messages
  void handle_confirm(const ConfirmTask& t);
  void send_notice(const Notice& n);
  void deliver_local(const fanout::MessageRef& msg, const router::Target& target);
  void handle_migrate(const MigrateTask& t);
  void handle_arrive(ArriveTask& t);
  void take_over_local(session::Session& s);
  void open_local_session(session::ClientLink& link, bool clean_start);
  // The answer of the cluster about a session asked for by connection `conn_id`.
  void finish_take(uint64_t conn_id, const std::string& client_id, const store::TakenSession& taken);
  // The messages a resumed session has not had: logged after its cursor, for its subscriptions.
  size_t queue_stored_messages(session::Session& s, const store::StoredSession& stored);
  void end_session(router::SessionId id);
  void publish_will(session::Session& s);
  // Tells the store the session's will now (a cluster keeps it for another node to publish).
  void record_will(session::Session& s);
  // What names a confirmed publish of this link to the log (store::PublishOrigin::id).
  std::string publish_id(session::ClientLink& link, uint16_t packet_id) const;
  session::Session& new_session(const router::HandleRef& handle);

  bool stopping_ = false;
  store::DurableStore* const store_;  // null: no message log
  fanout::Clock::time_point next_queue_sweep_{};
  mutable std::mutex directory_mutex_;
  Directory directory_;
  std::unordered_map<router::SessionId, std::unique_ptr<session::Session>> sessions_;
  // Sessions on their way here from another host: the connection waiting for each, and the
  // deliveries that arrived before it.
  std::unordered_map<router::SessionId, uint64_t> awaiting_arrival_;
  std::unordered_map<router::SessionId, std::vector<DeliverTask>> in_transit_;
  // Takeovers that reached this host before the session did: the host to pass it on to, or
  // kEndOnArrival when a clean start elsewhere replaced it.
  static constexpr uint32_t kEndOnArrival = 0xFFFFFFFF;
  std::unordered_map<router::SessionId, uint32_t> deferred_migrations_;

  std::mutex inbox_mutex_;
  std::vector<Task> inbox_;
  std::vector<Task> inbox_work_;
  std::vector<router::Target> match_scratch_;
  std::vector<std::string_view> topics_scratch_;
  // Exchanges (exchange/<owner>/<first level>) this host has already noted in the broker's
  // registry, so that a publish asks the shared registry only the first time; cleared when the
  // registry's generation changes (an exchange was deleted).
  std::unordered_set<std::string, util::StringHash, std::equal_to<>> noted_exchanges_;
  uint64_t noted_generation_ = 0;
  std::vector<std::vector<router::Target>> remote_scratch_;
};

}  // namespace hydrant::core
