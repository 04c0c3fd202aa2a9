// Following a key-value bucket through an ordered consumer. See bucket_watch.hpp.
#include "cluster/bucket_watch.hpp"

#include <nats/nats.h>

#include <fmt/format.h>

namespace hydrant::cluster {

BucketWatch::BucketWatch(const Engine& engine, const std::string& bucket, From from, OnChange on_change)
    : engine_(engine), prefix_("$KV." + bucket + "."), on_change_(std::move(on_change)) {
  const std::string stream = "KV_" + bucket;
  const std::string subjects = prefix_ + ">";
  jsSubOptions options;
  jsSubOptions_Init(&options);
  options.Stream = stream.c_str();
  options.Ordered = true;  // the library re-creates the consumer on a gap or a reconnection
  options.Config.DeliverPolicy = from == From::NewOnly ? js_DeliverNew : js_DeliverLastPerSubject;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = natsConnection_JetStream(&jetstream_, engine.connection(), nullptr);
  if (s == NATS_OK) {
    s = js_Subscribe(&subscription_, jetstream_, subjects.c_str(), on_message, this, nullptr, &options, &jerr);
  }
  if (s != NATS_OK) {
    if (jetstream_) jsCtx_Destroy(jetstream_);
    throw EngineError(fmt::format("cluster: cannot follow bucket {}: {}", bucket, natsStatus_GetText(s)));
  }
}

BucketWatch::~BucketWatch() {
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
  }
  if (natsConnection_Status(engine_.connection()) == NATS_CONN_STATUS_CONNECTED) {
    natsSubscription_Unsubscribe(subscription_);
  }
  natsSubscription_Destroy(subscription_);
  jsCtx_Destroy(jetstream_);
}

void BucketWatch::on_message(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  auto* self = static_cast<BucketWatch*>(closure);
  const std::string_view subject = natsMsg_GetSubject(msg);
  jsMsgMetaData* meta = nullptr;
  if (subject.starts_with(self->prefix_) && natsMsg_GetMetaData(&meta, msg) == NATS_OK) {
    const char* op = nullptr;
    natsMsgHeader_Get(msg, "KV-Operation", &op);
    const std::string_view kind = op ? op : "";
    BucketChange c;
    c.key = subject.substr(self->prefix_.size());
    c.deleted = kind == "DEL" || kind == "PURGE";
    if (!c.deleted) c.value = std::string_view(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg)));
    c.revision = meta->Sequence.Stream;
    c.time_ms = meta->Timestamp / 1'000'000;
    std::lock_guard lock(self->mutex_);
    if (!self->stopped_) self->on_change_(c);
  }
  if (meta) jsMsgMetaData_Destroy(meta);
  natsMsg_Destroy(msg);
}

}  // namespace hydrant::cluster
