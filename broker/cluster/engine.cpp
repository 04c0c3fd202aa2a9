// The engine connection and its layout. See engine.hpp.
#include "cluster/engine.hpp"

#include <nats/nats.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cluster/nats_error.hpp"
#include "util/log.hpp"
#include "util/url.hpp"

namespace hydrant::cluster {

namespace {

constexpr int64_t kNanosPerSecond = 1'000'000'000;
// How long JetStream remembers a Nats-Msg-Id: a publish re-sent after a lost acknowledgement
// or a node change within this window is stored once.
constexpr int64_t kDuplicateWindowNs = 120 * kNanosPerSecond;

// closure: the Engine's `closing` flag: a node that closes the connection is not reconnecting.
void on_disconnected(natsConnection* nc, void* closure) {
  if (static_cast<const std::atomic<bool>*>(closure)->load()) return;
  char url[256] = "";
  natsConnection_GetConnectedUrl(nc, url, sizeof url);
  log::warn("event=cluster-engine-disconnected server=\"{}\" note=\"reconnecting\"",
            util::redact_url_credentials(url));
}

void on_reconnected(natsConnection* nc, void*) {
  char url[256] = "";
  natsConnection_GetConnectedUrl(nc, url, sizeof url);
  log::info("event=cluster-engine-reconnected server=\"{}\"", util::redact_url_credentials(url));
}

// Frees what libnats allocates for one call's result.
struct StreamInfoHolder {
  jsStreamInfo* info = nullptr;
  ~StreamInfoHolder() {
    if (info) jsStreamInfo_Destroy(info);
  }
};
struct OptionsHolder {
  natsOptions* options = nullptr;
  ~OptionsHolder() {
    if (options) natsOptions_Destroy(options);
  }
};

// The servers as logs show them (no passwords).
std::string shown_servers(const std::vector<std::string>& servers) {
  std::vector<std::string> shown;
  for (const auto& url : servers) shown.push_back(util::redact_url_credentials(url));
  return fmt::format("{}", fmt::join(shown, ","));
}

}  // namespace

std::string nats_error(natsStatus s) {
  natsStatus last = NATS_OK;
  const char* detail = nats_GetLastError(&last);
  std::string text = natsStatus_GetText(s);
  if (detail && *detail && text != detail) text += fmt::format(" ({})", detail);
  return text;
}

std::unique_ptr<Engine> Engine::start(const EngineOptions& options) {
  std::unique_ptr<Engine> engine(new Engine(options));
  engine->connect();
  engine->ensure_stream();
  const Layout& layout = engine->layout_;
  for (const std::string* bucket : layout.buckets()) engine->ensure_bucket(*bucket);
  return engine;
}

Engine::Engine(const EngineOptions& options) : options_(options), layout_(options.prefix) {}

Engine::~Engine() {
  for (kvStore* kv : buckets_) kvStore_Destroy(kv);
  if (jetstream_) jsCtx_Destroy(jetstream_);
  closing_ = true;
  if (connection_) {
    natsConnection_Close(connection_);
    natsConnection_Destroy(connection_);
  }
  // libnats's own threads and globals: stopped, so that nothing of it outlives the node.
  nats_CloseAndWait(2000);
}

void Engine::connect() {
  OptionsHolder o;
  natsStatus s = natsOptions_Create(&o.options);
  std::vector<const char*> urls;
  for (const auto& url : options_.servers) urls.push_back(url.c_str());
  const std::string name = "hydrant " + options_.node_name;
  if (s == NATS_OK) s = natsOptions_SetServers(o.options, urls.data(), static_cast<int>(urls.size()));
  if (s == NATS_OK) s = natsOptions_SetName(o.options, name.c_str());
  if (s == NATS_OK) s = natsOptions_SetTimeout(o.options, options_.connect_timeout_ms);
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(o.options, -1);  // a node outlives outages
  if (s == NATS_OK) s = natsOptions_SetDisconnectedCB(o.options, on_disconnected, &closing_);
  if (s == NATS_OK) s = natsOptions_SetReconnectedCB(o.options, on_reconnected, nullptr);
  if (s == NATS_OK && !options_.creds_file.empty()) {
    // libnats reads the file only when it connects, and then blames the connection.
    if (::access(options_.creds_file.c_str(), R_OK) != 0) {
      throw EngineError(fmt::format("cluster-creds {}: cannot read it: {}", options_.creds_file,
                                    std::strerror(errno)));
    }
    s = natsOptions_SetUserCredentialsFromFiles(o.options, options_.creds_file.c_str(), nullptr);
    if (s != NATS_OK) {
      throw EngineError(fmt::format("cluster-creds {}: {}", options_.creds_file, nats_error(s)));
    }
  }
  if (s == NATS_OK && !options_.ca_file.empty()) {
    s = natsOptions_LoadCATrustedCertificates(o.options, options_.ca_file.c_str());
    if (s == NATS_OK) s = natsOptions_SetSecure(o.options, true);
    if (s != NATS_OK) throw EngineError(fmt::format("cluster-ca {}: {}", options_.ca_file, nats_error(s)));
  }
  if (s == NATS_OK) s = natsConnection_Connect(&connection_, o.options);
  if (s != NATS_OK) {
    throw EngineError(fmt::format("cluster: cannot reach the engine at {}: {} (is nats-server "
                                  "running there? check the cluster key)",
                                  shown_servers(options_.servers), nats_error(s)));
  }
  char url[256] = "";
  natsConnection_GetConnectedUrl(connection_, url, sizeof url);
  report_.connected_url = util::redact_url_credentials(url);
  s = natsConnection_JetStream(&jetstream_, connection_, nullptr);
  if (s != NATS_OK) throw EngineError(fmt::format("cluster: JetStream context: {}", nats_error(s)));
}

void Engine::ensure_stream() {
  StreamInfoHolder found;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&found.info, jetstream_, layout_.stream.c_str(), nullptr, &jerr);
  if (s == NATS_NO_RESPONDERS || jerr == JSNotEnabledErr || jerr == JSNotEnabledForAccountErr) {
    throw EngineError(fmt::format("cluster: {} answers, but JetStream is not enabled there "
                                  "(nats-server needs -js or a jetstream block)",
                                  report_.connected_url));
  }
  jsStreamConfig config;
  jsStreamConfig_Init(&config);
  const char* subjects[] = {layout_.subjects.c_str()};
  config.Name = layout_.stream.c_str();
  config.Description = "Hydrant: the messages of every exchange";
  config.Subjects = subjects;
  config.SubjectsLen = 1;
  config.Storage = js_FileStorage;
  config.Retention = js_LimitsPolicy;
  config.Discard = js_DiscardOld;
  config.Replicas = options_.replicas;
  config.MaxAge = static_cast<int64_t>(options_.history_max_age_s) * kNanosPerSecond;
  config.MaxBytes = static_cast<int64_t>(options_.history_max_bytes);
  config.Duplicates = std::min(kDuplicateWindowNs, config.MaxAge);  // JetStream: never past MaxAge
  config.AllowDirect = true;  // history reads from any replica
  StreamInfoHolder result;
  if (s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr) {
    jerr = static_cast<jsErrCode>(0);
    s = js_AddStream(&result.info, jetstream_, &config, nullptr, &jerr);
    report_.stream_created = s == NATS_OK;
  } else if (s == NATS_OK) {
    const jsStreamConfig& have = *found.info->Config;
    if (have.SubjectsLen != 1 || layout_.subjects != have.Subjects[0]) {
      throw EngineError(fmt::format("cluster: stream {} exists with other subjects than {}: "
                                    "another application's? choose another cluster-prefix",
                                    layout_.stream, layout_.subjects));
    }
    // The replica count stays as found (changing it moves data: the operator's decision); the
    // history limits follow the configuration.
    config.Replicas = have.Replicas;
    if (have.MaxAge != config.MaxAge || have.MaxBytes != config.MaxBytes ||
        have.Duplicates != config.Duplicates || !have.AllowDirect) {
      s = js_UpdateStream(&result.info, jetstream_, &config, nullptr, &jerr);
      report_.limits_updated = s == NATS_OK;
    } else {
      std::swap(result.info, found.info);
    }
    if (have.Replicas != options_.replicas) {
      log::warn("event=cluster-replicas-differ stream={} replicas={} configured={} note=\"the "
                "stream keeps its replica count; change it with the nats tool\"",
                layout_.stream, have.Replicas, options_.replicas);
    }
  }
  if (s != NATS_OK) {
    if (jerr == JSStreamReplicasNotSupportedErr || jerr == JSInsufficientResourcesErr ||
        jerr == JSClusterNoPeersErr) {
      throw EngineError(fmt::format("cluster-replicas {}: the JetStream servers cannot keep {} "
                                    "copies of stream {} ({}): lower cluster-replicas to the "
                                    "number of JetStream servers, or add servers",
                                    options_.replicas, options_.replicas, layout_.stream,
                                    nats_error(s)));
    }
    throw EngineError(fmt::format("cluster: stream {}: {} (JetStream error {})", layout_.stream,
                                  nats_error(s), static_cast<int>(jerr)));
  }
  const jsStreamInfo& info = *result.info;
  report_.replicas = info.Config->Replicas;
  report_.leader = info.Cluster && info.Cluster->Leader ? info.Cluster->Leader : "";
  report_.messages = info.State.Msgs;
  report_.first_sequence = info.State.FirstSeq;
  report_.last_sequence = info.State.LastSeq;
  report_.epoch = static_cast<uint64_t>(info.Created);
}

void Engine::ensure_bucket(const std::string& name) {
  kvStore* kv = nullptr;
  natsStatus s = js_KeyValue(&kv, jetstream_, name.c_str());
  bool created = false;
  if (s == NATS_NOT_FOUND) {
    kvConfig config;
    kvConfig_Init(&config);
    config.Bucket = name.c_str();
    config.History = 1;
    config.StorageType = js_FileStorage;
    config.Replicas = static_cast<int>(report_.replicas);
    s = js_CreateKeyValue(&kv, jetstream_, &config);
    created = s == NATS_OK;
  }
  if (s != NATS_OK) throw EngineError(fmt::format("cluster: bucket {}: {}", name, nats_error(s)));
  buckets_.push_back(kv);
  report_.buckets.emplace_back(name, created);
}

kvStore* Engine::bucket(const std::string& name) const {
  for (size_t i = 0; i < report_.buckets.size(); ++i) {
    if (report_.buckets[i].first == name) return buckets_[i];
  }
  return nullptr;
}

std::string Engine::describe() const {
  std::vector<std::string> buckets;
  for (const auto& [name, created] : report_.buckets) {
    buckets.push_back(fmt::format("{}:{}", name, created ? "created" : "found"));
  }
  return fmt::format(
      "node=\"{}\" servers=\"{}\" connected=\"{}\" stream={} stream_state={} replicas={} "
      "leader=\"{}\" messages={} first={} last={} epoch={:016x} max_age_s={} max_bytes={}{} "
      "buckets=\"{}\"",
      options_.node_name, shown_servers(options_.servers), report_.connected_url, layout_.stream,
      report_.stream_created ? "created" : "found", report_.replicas, report_.leader,
      report_.messages, report_.first_sequence, report_.last_sequence, report_.epoch,
      options_.history_max_age_s, options_.history_max_bytes,
      report_.limits_updated ? " limits=updated" : "", fmt::join(buckets, ","));
}

}  // namespace hydrant::cluster
