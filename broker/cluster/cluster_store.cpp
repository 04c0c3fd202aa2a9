// A cluster node's message log on the engine's stream. See cluster_store.hpp.
#include "cluster/cluster_store.hpp"

#include <nats/nats.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "base/json_writer.hpp"
#include "cluster/stream_history.hpp"
#include "cluster/stream_message.hpp"
#include "util/log.hpp"
#include "util/wall_clock.hpp"

namespace hydrant::cluster {

ClusterStore::ClusterStore(const Engine& engine, std::shared_ptr<store::DurableStore> local,
                           uint32_t ack_timeout_ms, uint32_t window,
                           uint32_t history_reads_per_second)
    : engine_(engine), local_(std::move(local)), sessions_(engine), nodes_(engine), retained_(engine),
      ack_timeout_ms_(ack_timeout_ms), window_(window),
      epoch_(engine.report().epoch), history_rate_(history_reads_per_second),
      history_tokens_(history_reads_per_second) {
  last_sequence_ = engine.report().last_sequence;
  last_delivered_sequence_ = engine.report().last_sequence;
  recovered_.sessions = sessions_.own_sessions(util::unix_ms());
  recovered_.retained = retained_.load();
  // The local store's retained messages of other topics than exchanges' (not in the stream).
  for (const auto& [topic, msg] : local_->recovered_state().retained) {
    if (!store::ExchangeLog::logs(topic)) recovered_.retained.emplace(topic, msg);
  }
  jsOptions options;
  jsOptions_Init(&options);
  options.PublishAsync.AckHandler = on_ack;
  options.PublishAsync.AckHandlerClosure = this;
  // Our window (window_) is smaller: js_PublishMsgAsync never reaches the library's and blocks.
  options.PublishAsync.MaxPending = static_cast<int64_t>(window) * 2;
  const natsStatus s = natsConnection_JetStream(&jetstream_, engine.connection(), &options);
  if (s != NATS_OK) throw EngineError(fmt::format("cluster: JetStream context: {}", natsStatus_GetText(s)));
}

ClusterStore::~ClusterStore() {
  stop_delivery();
  if (jetstream_) {
    // Acknowledgements still due come in (or time out) before the context goes.
    jsPubOptions wait;
    jsPubOptions_Init(&wait);
    wait.MaxWait = ack_timeout_ms_ + 1000;
    js_PublishAsyncComplete(jetstream_, &wait);
    jsCtx_Destroy(jetstream_);
  }
}

void ClusterStore::start_delivery(Deliver deliver, const std::function<bool()>& give_up) {
  deliver_ = std::move(deliver);
  delivering_ = true;
  jsSubOptions options;
  jsSubOptions_Init(&options);
  options.Stream = engine_.layout().stream.c_str();
  options.Ordered = true;  // the library re-creates the consumer on a gap: nothing skipped
  // From just after the last message the stream held at the start check, which came before
  // this node listened: what its clients (or other nodes) publish meanwhile is delivered too.
  options.Config.DeliverPolicy = js_DeliverByStartSequence;
  options.Config.OptStartSeq = engine_.report().last_sequence + 1;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = NATS_OK;
  // A JetStream cluster that has just formed may not place a consumer yet ("temporarily
  // unavailable", time-outs): tried again for a while before the start fails.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (true) {
    s = js_Subscribe(&subscription_, jetstream_, engine_.layout().subjects.c_str(), on_message, this,
                     nullptr, &options, &jerr);
    if (s == NATS_OK || std::chrono::steady_clock::now() >= deadline || give_up()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  if (s != NATS_OK && give_up()) return;  // stopping anyway: nothing to deliver to
  if (s != NATS_OK) {
    throw EngineError(fmt::format("cluster: cannot read stream {}: {} (JetStream error {})",
                                  engine_.layout().stream, natsStatus_GetText(s), static_cast<int>(jerr)));
  }
}

void ClusterStore::start_sessions(SessionDirectory::GiveUp give_up, SessionDirectory::Adopt adopt) {
  sessions_.start(std::move(give_up), std::move(adopt));
  nodes_.start([this](const std::string& node) { sessions_.adopt_from(node); });
}

void ClusterStore::stop_delivery() {
  nodes_.stop();     // a clean stop: this node's clients are closed here, nobody adopts them
  sessions_.stop();  // no session given up (posted to a host) from here on
  {
    // A completion posts to its host: none may run once the hosts may be gone.
    std::lock_guard lock(completion_mutex_);
    completing_ = false;
  }
  if (!subscription_) return;
  {
    // Waits for a delivery in progress; the ones after it find `delivering_` false.
    std::lock_guard lock(delivery_mutex_);
    delivering_ = false;
  }
  // Unsubscribing deletes the consumer on the server, a request that waits up to 5 s for an
  // answer: not asked of an engine that is gone (the server drops an idle ordered consumer).
  if (natsConnection_Status(engine_.connection()) == NATS_CONN_STATUS_CONNECTED) {
    natsSubscription_Unsubscribe(subscription_);
  }
  natsSubscription_Destroy(subscription_);
  subscription_ = nullptr;
}

std::string ClusterStore::position(uint64_t sequence) const {
  return fmt::format("{:016x}-{}", epoch_, sequence);
}

bool ClusterStore::healthy() const {
  return natsConnection_Status(engine_.connection()) == NATS_CONN_STATUS_CONNECTED && local_->healthy();
}

std::string ClusterStore::problem() const {
  if (natsConnection_Status(engine_.connection()) != NATS_CONN_STATUS_CONNECTED) {
    return "the cluster's engine is not reachable";
  }
  return local_->problem();
}

store::HistoryPage ClusterStore::read(const store::HistoryQuery& q) const {
  ++history_reads_;
  if (!q.for_session && !take_history_token()) {
    ++history_reads_refused_;
    store::HistoryPage page;
    page.complete = false;
    page.gap = fmt::format("too many history reads on this node just now (at most {:.0f} a "
                           "second); try again", history_rate_);
    return page;
  }
  return read_stream_history(jetstream_, engine_, epoch_, q);
}

uint64_t ClusterStore::consumer_pending() const {
  int waiting = 0;
  if (subscription_) natsSubscription_GetPending(subscription_, &waiting, nullptr);
  return static_cast<uint64_t>(std::max(waiting, 0));
}

void ClusterStore::scan(uint64_t after, const std::function<void(const store::StoredMessage&)>& visit) const {
  scan_stream(jetstream_, engine_, epoch_, after, visit);
}

uint64_t ClusterStore::subscribe(std::string_view client_id, std::string_view filter,
                                 const codec::SubscriptionOptions& options, uint32_t subscription_id) {
  // The subscription is in the router now: what this node reads from here on reaches it live.
  const uint64_t start = last_delivered_sequence_.load();
  sessions_.subscribe(client_id, filter, options, subscription_id, start);
  return start;
}

bool ClusterStore::take_history_token() const {
  std::lock_guard lock(history_mutex_);
  const auto now = std::chrono::steady_clock::now();
  const double seconds = std::chrono::duration<double>(now - history_refilled_).count();
  history_refilled_ = now;
  history_tokens_ = std::min(history_rate_, history_tokens_ + seconds * history_rate_);
  if (history_tokens_ < 1) return false;
  history_tokens_ -= 1;
  return true;
}

fanout::MessageRef ClusterStore::append_message(const MessageFactory& make, int64_t now_ms,
                                                Completion done, std::span<const std::string> cc,
                                                const store::PublishOrigin& origin) {
  Pending p;
  p.msg = make(0, {});
  p.done = std::move(done);
  p.now_ms = now_ms;
  p.resent = origin.resent;
  if (!origin.id.empty()) {
    // A clean session's id is this node's; a persistent one's is the same on every node.
    p.msg_id = fmt::format("{}{}:{:x}", origin.id.starts_with('c') ? engine_.options().node_name + "." : "",
                           origin.id, content_hash(*p.msg));
  }
  p.cc.assign(cc.begin(), cc.end());
  {
    std::lock_guard lock(pending_mutex_);
    if (pending_.size() >= window_) {  // the engine is behind: refused now, not queued without bound
      ++publish_failures_;
      if (p.done) p.done(0, false);
      return nullptr;
    }
  }
  publish(std::move(p));
  return nullptr;
}

bool ClusterStore::publish(Pending p) {
  uint64_t ticket = 0;
  {
    std::lock_guard lock(pending_mutex_);
    ticket = next_ticket_++;
  }
  natsMsg* m = encode_stream_message(*p.msg, engine_.options().prefix, engine_.options().node_name,
                                     ticket, p.now_ms, p.cc, p.msg_id);
  p.sent = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(pending_mutex_);  // before the publish: its acknowledgement finds it
    pending_.emplace(ticket, std::move(p));
  }
  natsStatus s = m ? NATS_OK : NATS_NO_MEMORY;
  jsPubOptions options;
  jsPubOptions_Init(&options);
  options.MaxWait = ack_timeout_ms_;  // then on_ack hears a time-out
  if (s == NATS_OK) s = js_PublishMsgAsync(jetstream_, &m, &options);
  if (m) natsMsg_Destroy(m);  // still ours when the publish failed
  if (s == NATS_OK) return true;
  ++publish_failures_;
  if (Completion c = take_pending(ticket).done) c(0, false);
  return false;
}

void ClusterStore::complete(const Completion& done, uint64_t sequence, bool ok) {
  std::lock_guard lock(completion_mutex_);
  if (done && completing_) done(sequence, ok);
}

ClusterStore::Pending ClusterStore::take_pending(uint64_t ticket) {
  std::lock_guard lock(pending_mutex_);
  auto it = pending_.find(ticket);
  if (it == pending_.end()) return {};
  Pending p = std::move(it->second);
  pending_.erase(it);
  return p;
}

void ClusterStore::on_ack(jsCtx*, natsMsg* msg, jsPubAck* ack, jsPubAckErr* err, void* closure) {
  auto* self = static_cast<ClusterStore*>(closure);
  Pending pending = self->take_pending(ticket_of(msg));
  if (ack && ack->Duplicate && !pending.resent && !pending.msg_id.empty() && pending.rounds < 8) {
    // The client said this publish is new, but an equal one under the same id is in the
    // stream's window (its packet id reused for the same message): stored again, under an id
    // that names the one it equals.
    pending.msg_id += fmt::format(":{}", ack->Sequence);
    ++pending.rounds;
    self->publish(std::move(pending));
    natsMsg_Destroy(msg);
    return;
  }
  if (ack) {
    if (ack->Duplicate) ++self->duplicates_;
    ++self->publishes_stored_;
    if (pending.sent != std::chrono::steady_clock::time_point{}) {
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - pending.sent).count();
      size_t bucket = 0;
      while (bucket < std::size(kAckBuckets) && seconds > kAckBuckets[bucket]) ++bucket;
      ++self->ack_counts_[bucket];
      self->ack_micros_sum_ += static_cast<uint64_t>(seconds * 1e6);
    }
    uint64_t last = self->last_sequence_.load();
    while (ack->Sequence > last && !self->last_sequence_.compare_exchange_weak(last, ack->Sequence)) {
    }
    self->complete(pending.done, ack->Sequence, true);
  } else {
    ++self->publish_failures_;
    log::warn("event=cluster-publish-failed error=\"{}\"",
              err && err->ErrText ? err->ErrText : natsStatus_GetText(err ? err->Err : NATS_ERR));
    self->complete(pending.done, 0, false);
  }
  natsMsg_Destroy(msg);
}

void ClusterStore::on_message(natsConnection*, natsSubscription* sub, natsMsg* msg, void* closure) {
  auto* self = static_cast<ClusterStore*>(closure);
  {
    std::lock_guard lock(self->delivery_mutex_);
    if (self->delivering_) self->deliver(sub, msg);
  }
  natsMsg_Destroy(msg);
}

void ClusterStore::deliver(natsSubscription* sub, natsMsg* msg) {
  if (auto got = decode_stream_message(msg, engine_.options().prefix, engine_.options().node_name, epoch_)) {
    if (got->from_this_node && got->msg->retain()) retained_.put(*got->msg, got->sequence);
    ++delivered_;
    batch_last_sequence_ = got->sequence;
    batch_.emplace_back(std::move(got->msg), std::move(got->cc));
  }
  int waiting = 0;
  natsSubscription_GetPending(sub, &waiting, nullptr);
  if (batch_.empty() || (waiting > 0 && batch_.size() < kDeliverBatch)) return;
  deliver_(std::move(batch_));
  batch_.clear();
  // Only now: the checkpoints count what was handed on (and so routed before their barrier).
  last_delivered_sequence_ = batch_last_sequence_;
}

std::string ClusterStore::prometheus() const {
  std::string out;
  auto metric = [&](std::string_view name, std::string_view type, std::string_view help, auto value) {
    out += fmt::format("# HELP hydrant_cluster_{0} {1}\n# TYPE hydrant_cluster_{0} {2}\nhydrant_cluster_{0} {3}\n",
                       name, help, type, value);
  };
  size_t waiting = 0;
  {
    std::lock_guard lock(pending_mutex_);
    waiting = pending_.size();
  }
  metric("engine_connected", "gauge", "1 while the connection to the engine is up.",
         natsConnection_Status(engine_.connection()) == NATS_CONN_STATUS_CONNECTED ? 1 : 0);
  metric("publishes_stored_total", "counter", "Publishes the engine acknowledged.", publishes_stored_.load());
  metric("publishes_failed_total", "counter",
         "Publishes refused: the window full, the engine unreachable, an error or the time-out.",
         publish_failures_.load());
  metric("publishes_deduplicated_total", "counter",
         "Re-sent publishes (DUP) the stream already held: acknowledged, not stored twice.", duplicates_.load());
  metric("publishes_waiting", "gauge", "Publishes waiting for the engine now.", waiting);
  metric("delivered_total", "counter", "Messages this node read from the stream.", delivered_.load());
  metric("consumer_pending", "gauge",
         "Messages of the stream this node received and has not handed on yet (its consumer's lag).",
         consumer_pending());
  metric("last_stored_sequence", "gauge", "The highest sequence the engine acknowledged to this node.",
         last_sequence_.load());
  metric("last_delivered_sequence", "gauge", "The sequence of the last message this node read.",
         last_delivered_sequence_.load());
  metric("history_reads_total", "counter", "History reads (HTTP and replay) asked of this node.",
         history_reads_.load());
  metric("sessions_taken_total", "counter", "Sessions this node took over from another node.", sessions_.taken());
  metric("sessions_given_up_total", "counter", "Sessions another node took over from this one.", sessions_.given_up());
  metric("sessions_adopted_total", "counter", "Sessions of dead nodes this node took over.", sessions_.adopted());
  metric("session_write_failures_total", "counter", "Session records the engine did not take (tried again).",
         sessions_.write_failures());
  size_t alive = 0;
  for (const NodeSeen& n : nodes_.nodes()) alive += n.alive;
  metric("nodes_alive", "gauge", "Nodes with a recent heartbeat, this one included.", alive);
  metric("history_reads_refused_total", "counter", "History reads over cluster-history-rate.",
         history_reads_refused_.load());
  out += "# HELP hydrant_cluster_publish_ack_seconds Time from publish to the engine's acknowledgement.\n"
         "# TYPE hydrant_cluster_publish_ack_seconds histogram\n";
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= std::size(kAckBuckets); ++i) {
    cumulative += ack_counts_[i].load();
    const std::string le = i < std::size(kAckBuckets) ? fmt::format("{}", kAckBuckets[i]) : "+Inf";
    out += fmt::format("hydrant_cluster_publish_ack_seconds_bucket{{le=\"{}\"}} {}\n", le, cumulative);
  }
  out += fmt::format("hydrant_cluster_publish_ack_seconds_sum {:.6f}\n", ack_micros_sum_.load() / 1e6);
  out += fmt::format("hydrant_cluster_publish_ack_seconds_count {}\n", cumulative);
  return out;
}

std::string ClusterStore::describe_json() const {
  const natsConnStatus status = natsConnection_Status(engine_.connection());
  const char* state = status == NATS_CONN_STATUS_CONNECTED      ? "connected"
                      : status == NATS_CONN_STATUS_RECONNECTING ? "reconnecting"
                      : status == NATS_CONN_STATUS_CLOSED       ? "closed"
                                                                : "connecting";
  size_t waiting = 0;
  {
    std::lock_guard lock(pending_mutex_);
    waiting = pending_.size();
  }
  const LayoutReport& found = engine_.report();
  JsonWriter w;
  w.begin_object()
      .member("node", engine_.options().node_name)
      .member("engine", state)
      .member("connected_to", found.connected_url)
      .member("stream", engine_.layout().stream)
      .member("replicas", found.replicas)
      .member("leader_at_start", found.leader)
      .member("epoch", fmt::format("{:016x}", epoch_))
      .member("last_stored_sequence", last_sequence_.load())
      .member("last_delivered_sequence", last_delivered_sequence_.load())
      .member("delivered", delivered_.load())
      .member("consumer_pending", consumer_pending())
      .member("publishes_waiting", static_cast<uint64_t>(waiting))
      .member("publish_window", static_cast<uint64_t>(window_))
      .member("publish_failures", publish_failures_.load())
      .member("sessions_taken", sessions_.taken())
      .member("sessions_given_up", sessions_.given_up())
      .member("sessions_adopted", sessions_.adopted());
  w.key("nodes").begin_array();
  for (const NodeSeen& n : nodes_.nodes()) {
    w.begin_object()
        .member("name", n.name)
        .member("alive", n.alive)
        .member("this_node", n.name == engine_.options().node_name)
        .member("last_heartbeat_ms", n.last_heartbeat_ms)
        .member("started_ms", n.started_ms)
        .end_object();
  }
  w.end_array().end_object();
  return w.take();
}

}  // namespace hydrant::cluster
