// Retained messages in the engine's retained bucket. See retained_bucket.hpp.
#include "cluster/retained_bucket.hpp"

#include <nats/nats.h>

#include <fmt/format.h>

#include "cluster/subject.hpp"
#include "store/record_io.hpp"
#include "store/records.hpp"

namespace hydrant::cluster {

RetainedBucket::RetainedBucket(const Engine& engine) : engine_(engine) {
  jsOptions options;
  jsOptions_Init(&options);
  options.PublishAsync.MaxPending = 4096;
  const natsStatus s = natsConnection_JetStream(&jetstream_, engine.connection(), &options);
  if (s != NATS_OK) throw EngineError(fmt::format("cluster: JetStream context: {}", natsStatus_GetText(s)));
}

RetainedBucket::~RetainedBucket() {
  jsPubOptions wait;
  jsPubOptions_Init(&wait);
  wait.MaxWait = 2000;
  js_PublishAsyncComplete(jetstream_, &wait);
  jsCtx_Destroy(jetstream_);
}

std::map<std::string, fanout::MessageRef, std::less<>> RetainedBucket::load() const {
  std::map<std::string, fanout::MessageRef, std::less<>> out;
  kvWatchOptions options;
  kvWatchOptions_Init(&options);
  options.IgnoreDeletes = true;
  kvWatcher* watcher = nullptr;
  if (kvStore_WatchAll(&watcher, engine_.bucket(engine_.layout().retained_bucket), &options) != NATS_OK) {
    throw EngineError("cluster: cannot read the retained bucket");
  }
  // The bucket's current values, then a null entry: the end of what it holds now.
  for (kvEntry* e = nullptr; kvWatcher_Next(&e, watcher, 5000) == NATS_OK && e; kvEntry_Destroy(e), e = nullptr) {
    store::Reader in{std::string_view(static_cast<const char*>(kvEntry_Value(e)),
                                      static_cast<size_t>(kvEntry_ValueLen(e)))};
    const auto sequence = in.get<uint64_t>();
    fanout::MessageRef msg = in.ok ? store::decode_message(in.data, sequence) : nullptr;
    if (!msg || msg->payload().empty()) continue;
    out[std::string(msg->topic())] = std::move(msg);
  }
  kvWatcher_Destroy(watcher);
  return out;
}

void RetainedBucket::put(const fanout::Message& msg, uint64_t sequence) {
  std::string data;
  store::put(data, sequence);
  data += store::encode_message(msg);
  // A key-value put is a publish to the bucket's subject: sent here without waiting.
  const std::string subject = fmt::format("$KV.{}.{}", engine_.layout().retained_bucket,
                                          subject_of_topic(engine_.options().prefix, msg.topic()));
  js_PublishAsync(jetstream_, subject.c_str(), data.data(), static_cast<int>(data.size()), nullptr);
}

}  // namespace hydrant::cluster
