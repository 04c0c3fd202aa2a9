// A cluster node's message log on the engine's stream. See cluster_store.hpp.
#include "cluster/cluster_store.hpp"

#include <nats/nats.h>

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "base/json_writer.hpp"
#include "cluster/subject.hpp"
#include "util/log.hpp"
#include "util/wall_clock.hpp"

namespace hydrant::cluster {

namespace {

// Headers of a message in the stream: what MQTT needs besides the topic (the subject) and the
// payload (the data), readable by other tools too.
constexpr const char* kTicket = "Hydrant-Ticket";    // the publishing node's acknowledgement key
constexpr const char* kQos = "Hydrant-Qos";
constexpr const char* kRetain = "Hydrant-Retain";
constexpr const char* kProps = "Hydrant-Props";      // forwarded MQTT 5 properties, hex
constexpr const char* kExpires = "Hydrant-Expires";  // unix ms; absent: never
constexpr const char* kNode = "Hydrant-Node";
constexpr const char* kSession = "Hydrant-Session";  // the publisher's, on kNode (no local)
constexpr const char* kCc = "Hydrant-CC";            // one per copied routing key, as a subject

constexpr char kHex[] = "0123456789abcdef";

std::string hex(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 0xF];
  }
  return out;
}

std::optional<std::string> unhex(std::string_view text) {
  if (text.size() % 2) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 2);
  for (size_t i = 0; i < text.size(); i += 2) {
    unsigned value = 0;
    auto [p, ec] = std::from_chars(text.data() + i, text.data() + i + 2, value, 16);
    if (ec != std::errc() || p != text.data() + i + 2) return std::nullopt;
    out += static_cast<char>(value);
  }
  return out;
}

uint64_t number(const char* text) {
  uint64_t n = 0;
  if (text) std::from_chars(text, text + std::strlen(text), n);
  return n;
}

const char* header(natsMsg* msg, const char* key) {
  const char* value = nullptr;
  return natsMsgHeader_Get(msg, key, &value) == NATS_OK ? value : nullptr;
}

// The MQTT 5 user property ("position", position), encoded as Message keeps its properties.
void append_position(std::string& data, std::string_view position) {
  data += static_cast<char>(0x26);
  for (std::string_view s : {std::string_view("position"), position}) {
    data += static_cast<char>(s.size() >> 8);
    data += static_cast<char>(s.size() & 0xFF);
    data += s;
  }
}

}  // namespace

ClusterStore::ClusterStore(const Engine& engine, std::shared_ptr<store::DurableStore> local,
                           uint32_t ack_timeout_ms, uint32_t window)
    : engine_(engine), local_(std::move(local)), ack_timeout_ms_(ack_timeout_ms), window_(window),
      epoch_(engine.report().epoch) {
  last_sequence_ = engine.report().last_sequence;
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

void ClusterStore::start_delivery(Deliver deliver) {
  deliver_ = std::move(deliver);
  delivering_ = true;
  jsSubOptions options;
  jsSubOptions_Init(&options);
  options.Stream = engine_.layout().stream.c_str();
  options.Ordered = true;  // the library re-creates the consumer on a gap: nothing skipped
  options.Config.DeliverPolicy = js_DeliverNew;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  const natsStatus s = js_Subscribe(&subscription_, jetstream_, engine_.layout().subjects.c_str(),
                                    on_message, this, nullptr, &options, &jerr);
  if (s != NATS_OK) {
    throw EngineError(fmt::format("cluster: cannot read stream {}: {} (JetStream error {})",
                                  engine_.layout().stream, natsStatus_GetText(s), static_cast<int>(jerr)));
  }
}

void ClusterStore::stop_delivery() {
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

store::HistoryPage ClusterStore::read(const store::HistoryQuery&) const {
  store::HistoryPage page;
  page.complete = false;
  page.gap = "history is not served in cluster mode yet";
  return page;
}

fanout::MessageRef ClusterStore::append_message(const MessageFactory& make, int64_t now_ms,
                                                Completion done, std::span<const std::string> cc) {
  const fanout::MessageRef msg = make(0, {});
  uint64_t ticket = 0;
  {
    std::lock_guard lock(pending_mutex_);
    if (pending_.size() < window_) {
      ticket = next_ticket_++;
      pending_.emplace(ticket, std::move(done));
    }
  }
  if (!ticket) {  // the engine is behind: refused now rather than queued without bound
    ++publish_failures_;
    if (done) done(0, false);
    return nullptr;
  }
  const std::string& prefix = engine_.options().prefix;
  const std::string subject = subject_of_topic(prefix, msg->topic());
  const std::string_view payload = msg->payload();
  natsMsg* m = nullptr;
  natsStatus s = natsMsg_Create(&m, subject.c_str(), nullptr, payload.data(), static_cast<int>(payload.size()));
  auto set = [&](const char* key, const std::string& value) {
    if (s == NATS_OK) s = natsMsgHeader_Set(m, key, value.c_str());
  };
  set(kTicket, std::to_string(ticket));
  set(kQos, std::to_string(msg->qos()));
  if (msg->retain()) set(kRetain, "1");
  if (!msg->forwarded_properties().empty()) set(kProps, hex(msg->forwarded_properties()));
  if (const auto left = msg->expiry_left(fanout::Clock::now())) {
    set(kExpires, std::to_string(now_ms + int64_t{*left} * 1000));
  }
  set(kNode, engine_.options().node_name);
  set(kSession, std::to_string(msg->origin_session()));
  for (const auto& topic : cc) {
    if (s == NATS_OK) s = natsMsgHeader_Add(m, kCc, subject_of_topic(prefix, topic).c_str());
  }
  jsPubOptions options;
  jsPubOptions_Init(&options);
  options.MaxWait = ack_timeout_ms_;  // then on_ack hears a time-out
  if (s == NATS_OK) s = js_PublishMsgAsync(jetstream_, &m, &options);
  if (m) natsMsg_Destroy(m);  // still ours when the publish failed
  if (s != NATS_OK) {
    ++publish_failures_;
    if (Completion c = take_pending(ticket)) c(0, false);
    return nullptr;
  }
  if (msg->retain()) local_->retain(msg);  // kept on this node across a restart
  return nullptr;
}

ClusterStore::Completion ClusterStore::take_pending(uint64_t ticket) {
  std::lock_guard lock(pending_mutex_);
  auto it = pending_.find(ticket);
  if (it == pending_.end()) return {};
  Completion c = std::move(it->second);
  pending_.erase(it);
  return c;
}

void ClusterStore::on_ack(jsCtx*, natsMsg* msg, jsPubAck* ack, jsPubAckErr* err, void* closure) {
  auto* self = static_cast<ClusterStore*>(closure);
  Completion done = self->take_pending(number(header(msg, kTicket)));
  if (ack) {
    uint64_t last = self->last_sequence_.load();
    while (ack->Sequence > last && !self->last_sequence_.compare_exchange_weak(last, ack->Sequence)) {
    }
    if (done) done(ack->Sequence, true);
  } else {
    ++self->publish_failures_;
    log::warn("event=cluster-publish-failed error=\"{}\"",
              err && err->ErrText ? err->ErrText : natsStatus_GetText(err ? err->Err : NATS_ERR));
    if (done) done(0, false);
  }
  natsMsg_Destroy(msg);
}

void ClusterStore::on_message(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  auto* self = static_cast<ClusterStore*>(closure);
  {
    std::lock_guard lock(self->delivery_mutex_);
    if (self->delivering_) self->deliver(msg);
  }
  natsMsg_Destroy(msg);
}

void ClusterStore::deliver(natsMsg* msg) {
  const std::string& prefix = engine_.options().prefix;
  const auto topic = topic_of_subject(prefix, natsMsg_GetSubject(msg));
  jsMsgMetaData* meta = nullptr;
  if (!topic || natsMsg_GetMetaData(&meta, msg) != NATS_OK) return;  // not one of ours
  const uint64_t sequence = meta->Sequence.Stream;
  jsMsgMetaData_Destroy(meta);

  const auto props = unhex(header(msg, kProps) ? header(msg, kProps) : "");
  const uint64_t qos = number(header(msg, kQos));
  if (!props || qos > 2) return;
  const char* node = header(msg, kNode);
  const uint64_t origin = node && engine_.options().node_name == node ? number(header(msg, kSession)) : 0;
  std::optional<fanout::Clock::time_point> expiry;
  if (const char* expires = header(msg, kExpires)) {
    const int64_t left_ms = static_cast<int64_t>(number(expires)) - util::unix_ms();
    expiry = fanout::Clock::now() + std::chrono::milliseconds(std::max<int64_t>(left_ms, 0));
  }
  std::string data = *topic;
  data += *props;
  append_position(data, position(sequence));
  const auto payload_off = static_cast<uint32_t>(data.size());
  data.append(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg)));
  auto message = std::make_shared<const fanout::Message>(
      std::move(data), static_cast<uint32_t>(topic->size()), payload_off, static_cast<uint8_t>(qos),
      header(msg, kRetain) != nullptr, origin, expiry, sequence);

  std::vector<std::string> cc;
  const char** values = nullptr;
  int count = 0;
  if (natsMsgHeader_Values(msg, kCc, &values, &count) == NATS_OK) {
    for (int i = 0; i < count; ++i) {
      if (auto t = topic_of_subject(prefix, values[i])) cc.push_back(std::move(*t));
    }
    free(values);
  }
  ++delivered_;
  last_delivered_sequence_ = sequence;
  deliver_(std::move(message), std::move(cc));
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
      .member("publishes_waiting", static_cast<uint64_t>(waiting))
      .member("publish_window", static_cast<uint64_t>(window_))
      .member("publish_failures", publish_failures_.load())
      .end_object();
  return w.take();
}

}  // namespace hydrant::cluster
