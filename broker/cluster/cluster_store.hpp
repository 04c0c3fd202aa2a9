// A cluster node's message log: the messages of exchanges go into the engine's stream and come
// back from it, on every node (this one included), through an ordered consumer that hands them
// to the broker for routing. So every node delivers the same messages in the stream's order,
// each with the same position "<epoch>-<sequence>" (the epoch: the stream's creation time).
//
// History and replay read the stream (stream_history.hpp). Persistent sessions live in the
// engine's sessions bucket (session_directory.hpp), so that a client resumes its session on any
// node; retained messages of exchanges in its retained bucket (retained_bucket.hpp). The local
// store keeps what is not an exchange's (retained messages of other topics) and says whether
// the data directory is writable.
//
// Threads: append_message runs on a host's loop and never blocks it (its own window of
// unacknowledged publishes; past it a publish is refused at once). Acknowledgements and
// delivered messages arrive on libnats's threads.
#pragma once

#include <atomic>
#include <chrono>
#include <iterator>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "cluster/engine.hpp"
#include "cluster/node_directory.hpp"
#include "cluster/retained_bucket.hpp"
#include "cluster/session_directory.hpp"
#include "store/durable_store.hpp"

struct __jsCtx;
struct __natsSubscription;
struct __natsMsg;
struct jsPubAck;
struct jsPubAckErr;

namespace hydrant::cluster {

class ClusterStore final : public store::DurableStore {
 public:
  // Messages from the stream, each with the routing keys it was copied to, in the stream's
  // order; on a libnats thread. Batched: what the consumer had received at once (at most
  // kDeliverBatch), so that a burst costs the hosts one task, not one per message.
  using Delivered = std::pair<fanout::MessageRef, std::vector<std::string>>;
  using Deliver = std::function<void(std::vector<Delivered> batch)>;
  static constexpr size_t kDeliverBatch = 256;

  // `engine` outlives the store; `local` keeps what does not go to the engine yet.
  ClusterStore(const Engine& engine, std::shared_ptr<store::DurableStore> local,
               uint32_t ack_timeout_ms, uint32_t window, uint32_t history_reads_per_second);
  ~ClusterStore() override;

  // From now on every new message of the stream goes to `deliver`. Throws EngineError when
  // the consumer cannot be set up within 15 s, or at once when `give_up()` says so (a stop
  // was asked for meanwhile).
  void start_delivery(Deliver deliver, const std::function<bool()>& give_up);
  // No more deliveries, nor acknowledgements to the hosts, once this returns (before the
  // broker's hosts stop: a publish still waiting for the engine then gets no answer).
  void stop_delivery();
  // This node's view of the cluster as a JSON object (GET /api/v1/cluster). Thread-safe.
  std::string describe_json() const;
  const std::string& node_name() const { return engine_.options().node_name; }
  // The same figures, and the time JetStream takes to store a publish, as Prometheus text
  // (appended to /metrics). Thread-safe.
  std::string prometheus() const;

  // ---- store::ExchangeLog ----
  uint64_t epoch() const override { return epoch_; }
  std::string position(uint64_t sequence) const override;
  bool healthy() const override;
  std::string problem() const override;
  fanout::MessageRef append_message(const MessageFactory& make, int64_t now_ms, Completion done = {},
                                    std::span<const std::string> cc = {},
                                    const store::PublishOrigin& origin = {}) override;
  // The last message this node read from the stream and handed on for routing: what the
  // broker's checkpoints (and so the sessions' cursors) count up to.
  uint64_t last_sequence() const override { return last_delivered_sequence_.load(); }
  bool deduplicates() const override { return true; }
  store::HistoryPage read(const store::HistoryQuery& q) const override;
  void scan(uint64_t after, const std::function<void(const store::StoredMessage&)>& visit) const override;

  // ---- store::SessionStateLog: sessions in the engine's bucket ----
  const store::DurableState& recovered_state() const override { return recovered_; }
  uint64_t session_open(std::string_view client_id, uint64_t incarnation,
                        codec::ProtocolVersion version, uint32_t expiry) override {
    return sessions_.open(client_id, incarnation, version, expiry);
  }
  void session_end(std::string_view client_id, uint64_t incarnation) override {
    sessions_.end(client_id, incarnation);
  }
  uint64_t subscribe(std::string_view client_id, std::string_view filter,
                     const codec::SubscriptionOptions& options, uint32_t subscription_id) override;
  void unsubscribe(std::string_view client_id, std::string_view filter) override {
    sessions_.unsubscribe(client_id, filter);
  }
  void cursor(std::string_view client_id, uint64_t sequence) override {
    sessions_.cursor(client_id, sequence);
  }
  void retain(const fanout::MessageRef& msg) override { local_->retain(msg); }
  uint64_t session_will(std::string_view client_id, uint64_t incarnation, codec::ProtocolVersion version,
                        uint32_t expiry, const fanout::Message* will, uint32_t will_delay) override {
    return sessions_.will(client_id, incarnation, version, expiry, will, will_delay);
  }
  bool take_session(std::string client_id, std::function<void(store::TakenSession)> done) override {
    sessions_.take(std::move(client_id), std::move(done));
    return true;
  }
  // From start on: a session another node takes over is given up here through `give_up`; this
  // node's heartbeat goes out, and the sessions of a node that died are taken over (each by
  // one node) and handed to `adopt`.
  void start_sessions(SessionDirectory::GiveUp give_up, SessionDirectory::Adopt adopt);

  void maintain(int64_t now_ms) override { local_->maintain(now_ms); }
  void flush() override { local_->flush(); }

 private:
  static void on_ack(__jsCtx*, __natsMsg* msg, jsPubAck* ack, jsPubAckErr* err, void* closure);
  static void on_message(__natsConnection*, __natsSubscription*, __natsMsg* msg, void* closure);
  void deliver(__natsSubscription* sub, __natsMsg* msg);
  void complete(const Completion& done, uint64_t sequence, bool ok);  // unless stopped
  uint64_t consumer_pending() const;  // received from the stream, not yet handed on

  const Engine& engine_;
  std::shared_ptr<store::DurableStore> local_;
  SessionDirectory sessions_;
  NodeDirectory nodes_;
  RetainedBucket retained_;
  store::DurableState recovered_;  // at start: this node's sessions, and every retained message
  const uint32_t ack_timeout_ms_;
  const uint32_t window_;
  const uint64_t epoch_;
  __jsCtx* jetstream_ = nullptr;
  __natsSubscription* subscription_ = nullptr;
  Deliver deliver_;
  std::mutex delivery_mutex_;  // held while a message is delivered (libnats's thread)
  bool delivering_ = false;
  std::vector<Delivered> batch_;  // under delivery_mutex_
  uint64_t batch_last_sequence_ = 0;
  std::atomic<uint64_t> last_sequence_{0};
  std::atomic<uint64_t> publish_failures_{0};       // refused at once, failed or timed out
  std::atomic<uint64_t> publishes_stored_{0};
  // Time from publish to JetStream's acknowledgement: counts per upper bound (seconds), the
  // last one +Inf, and the sum in microseconds.
  static constexpr double kAckBuckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                           0.25, 0.5, 1, 2.5, 5, 10};
  std::atomic<uint64_t> ack_counts_[std::size(kAckBuckets) + 1] = {};
  std::atomic<uint64_t> ack_micros_sum_{0};
  mutable std::atomic<uint64_t> history_reads_{0}, history_reads_refused_{0};  // read() is const
  std::atomic<uint64_t> delivered_{0};                // messages read from the stream
  std::atomic<uint64_t> last_delivered_sequence_{0};

  // History reads cost the engine a consumer each: at most history_rate_ a second per node
  // (a token bucket), so that a flood of anonymous history requests cannot load the engine.
  const double history_rate_;
  mutable std::mutex history_mutex_;
  mutable double history_tokens_;
  mutable std::chrono::steady_clock::time_point history_refilled_ = std::chrono::steady_clock::now();
  bool take_history_token() const;

  std::mutex completion_mutex_;  // held while a completion runs (libnats's thread)
  bool completing_ = true;

  mutable std::mutex pending_mutex_;  // appends on the hosts' loops, acknowledgements on libnats's thread
  uint64_t next_ticket_ = 1;
  struct Pending {
    Completion done;
    std::chrono::steady_clock::time_point sent;
    // For a publish JetStream found a duplicate of: sent again under a longer id when the
    // client said it is new (DUP 0), so that a packet id reused for an equal message is kept.
    fanout::MessageRef msg;
    std::vector<std::string> cc;
    int64_t now_ms = 0;
    std::string msg_id;
    bool resent = false;
    int rounds = 0;
  };
  std::unordered_map<uint64_t, Pending> pending_;  // by ticket (header Hydrant-Ticket)
  Pending take_pending(uint64_t ticket);
  // Publishes `p.msg` under a new ticket; false when libnats refused it (p.done not run).
  bool publish(Pending p);
  std::atomic<uint64_t> duplicates_{0};  // re-sent publishes the stream already held
};

}  // namespace hydrant::cluster
