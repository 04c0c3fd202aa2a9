// hydrant-jsbench: the raw JetStream reference for the cluster benchmark (cluster.py). Through
// libnats, it (re)creates a stream with the settings Hydrant's own stream has (file storage,
// --replicas copies, limits retention, 24 h / 256 MiB), then publishes --size-byte JSON payloads
// (the load generator's, latency.hpp) with js_PublishAsync to one subject for --duration
// seconds, keeping at most --window unacknowledged, and counts the acknowledgements: acked/s
// while publishing and the latency from publish to acknowledgement. With --readers N, N ordered
// consumers on connections of their own read the stream meanwhile (as N Hydrant nodes do).
// --leader SERVER first moves the stream's leader to that server (asking the leader to step down
// until it is there), so that two streams compared have their leaders in the same place;
// --place-only 1 does only that, to a stream that exists (Hydrant's), and publishes nothing.
// Prints one JSON line, in the load generator's style. Not installed; not a test.
#include <nats/nats.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "args.hpp"
#include "latency.hpp"

namespace {

constexpr const char* kHelp = R"(usage: hydrant-jsbench [--OPTION VALUE]...
  --servers URLS     nats://HOST:PORT, comma-separated (nats://127.0.0.1:4222)
  --stream NAME      the stream, deleted and created again (bench-raw)
  --subject S        where to publish; the stream takes S's first token + .> (benchraw.in)
  --replicas N       copies of the stream (3)
  --size B           payload bytes, JSON, at least 53 (512)
  --window N         publishes without acknowledgement, at most (256)
  --duration S       seconds of publishing (5)
  --drain S          then wait at most this long for the last acknowledgements (5)
  --ack-timeout-ms T a publish unacknowledged this long counts as failed (5000)
  --readers N        ordered consumers reading the stream meanwhile, each on its own connection (0)
  --keep-stream 0|1  leave the stream in place at the end (0: delete it)
  --leader NAME      move the stream's leader to the server of this server_name first
  --place-only 0|1   1: only move the leader of the existing stream --stream, then print it
  --label TEXT       copied into the output
)";

struct Options {
  std::string servers = "nats://127.0.0.1:4222", stream = "bench-raw", subject = "benchraw.in", label;
  std::string leader;
  int replicas = 3, size = 512, window = 256, readers = 0, keep_stream = 0, place_only = 0;
  double duration = 5, drain = 5, ack_timeout_ms = 5000;
};

Options parse(int argc, char** argv) {
  Options o;
  bench::each_option(argc, argv, kHelp, [&o](const std::string& k, const std::string& v) {
    auto num = [&] { return std::stod(v); };
    if (k == "--servers") o.servers = v;
    else if (k == "--stream") o.stream = v;
    else if (k == "--subject") o.subject = v;
    else if (k == "--label") o.label = v;
    else if (k == "--replicas") o.replicas = static_cast<int>(num());
    else if (k == "--size") o.size = static_cast<int>(num());
    else if (k == "--window") o.window = static_cast<int>(num());
    else if (k == "--readers") o.readers = static_cast<int>(num());
    else if (k == "--keep-stream") o.keep_stream = static_cast<int>(num());
    else if (k == "--leader") o.leader = v;
    else if (k == "--place-only") o.place_only = static_cast<int>(num());
    else if (k == "--duration") o.duration = num();
    else if (k == "--drain") o.drain = num();
    else if (k == "--ack-timeout-ms") o.ack_timeout_ms = num();
    else {
      fmt::print(stderr, "jsbench: unknown option {}\n{}", k, kHelp);
      std::exit(64);
    }
  });
  if (o.replicas < 1 || o.window < 1 || o.readers < 0 || o.subject.empty() || o.subject[0] == '.' ||
      o.duration <= 0) {
    fmt::print(stderr, "jsbench: bad option value\n{}", kHelp);
    std::exit(64);
  }
  return o;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t at = 0;
  for (;;) {
    const size_t end = s.find(sep, at);
    out.push_back(s.substr(at, end - at));
    if (end == std::string::npos) return out;
    at = end + 1;
  }
}

[[noreturn]] void die(const std::string& what, natsStatus s, jsErrCode jerr = static_cast<jsErrCode>(0)) {
  fmt::print(stderr, "jsbench: {}: {} (JetStream error {}) {}\n", what, natsStatus_GetText(s),
             static_cast<int>(jerr), nats_GetLastError(nullptr) ? nats_GetLastError(nullptr) : "");
  std::exit(2);
}

// What the acknowledgement handler (a libnats thread) and the publishing loop share.
struct State {
  std::mutex mutex;
  std::condition_variable freed;
  int inflight = 0;
  uint64_t acked = 0, acked_in_run = 0, failed = 0;
  bool running = true;
  loadgen::Histogram ack_hist;
};

void on_ack(jsCtx*, natsMsg* msg, jsPubAck* ack, jsPubAckErr*, void* closure) {
  auto* st = static_cast<State*>(closure);
  const uint64_t t = loadgen::now_us();
  uint64_t seq = 0, ts = 0;
  const bool ours = loadgen::Payload::read(
      std::string_view(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg))), seq, ts);
  {
    std::lock_guard lock(st->mutex);
    --st->inflight;
    if (ack) {
      ++st->acked;
      if (st->running) ++st->acked_in_run;
      if (ours) st->ack_hist.add(t > ts ? t - ts : 0);
    } else {
      ++st->failed;
    }
  }
  st->freed.notify_one();
  natsMsg_Destroy(msg);
}

std::atomic<uint64_t> g_read{0};

void on_read(natsConnection*, natsSubscription*, natsMsg* msg, void*) {
  g_read.fetch_add(1, std::memory_order_relaxed);
  natsMsg_Destroy(msg);
}

// The stream's leader now ("" while it has none, or on an error).
std::string leader_of(jsCtx* js, const std::string& stream) {
  jsStreamInfo* info = nullptr;
  std::string leader;
  if (js_GetStreamInfo(&info, js, stream.c_str(), nullptr, nullptr) == NATS_OK) {
    if (info->Cluster && info->Cluster->Leader) leader = info->Cluster->Leader;
    jsStreamInfo_Destroy(info);
  }
  return leader;
}

// Asks the stream's leader to step down until `want` leads (the new one is chosen at random
// among the replicas), for at most 30 s. Returns the leader it ends with.
std::string place_leader(natsConnection* nc, jsCtx* js, const std::string& stream, const std::string& want) {
  const uint64_t deadline = loadgen::now_us() + 30'000'000;
  std::string leader = leader_of(js, stream);
  while (leader != want && loadgen::now_us() < deadline) {
    if (!leader.empty()) {
      natsMsg* reply = nullptr;
      natsConnection_RequestString(&reply, nc, ("$JS.API.STREAM.LEADER.STEPDOWN." + stream).c_str(), "", 5000);
      natsMsg_Destroy(reply);
    }
    for (int i = 0; i < 40; ++i) {  // the election: up to 4 s
      nats_Sleep(100);
      const std::string now = leader_of(js, stream);
      if (!now.empty() && now != leader) {
        leader = now;
        break;
      }
      if (!now.empty() && leader.empty()) leader = now;
    }
  }
  if (leader != want) fmt::print(stderr, "jsbench: stream {}: leader {}, not {}, after 30 s\n", stream, leader, want);
  return leader;
}

natsConnection* connect(const std::vector<std::string>& servers, const std::string& name) {
  natsOptions* opts = nullptr;
  std::vector<const char*> urls;
  for (const auto& s : servers) urls.push_back(s.c_str());
  natsStatus s = natsOptions_Create(&opts);
  if (s == NATS_OK) s = natsOptions_SetServers(opts, urls.data(), static_cast<int>(urls.size()));
  if (s == NATS_OK) s = natsOptions_SetNoRandomize(opts, true);  // the first URL: as cluster.py says
  if (s == NATS_OK) s = natsOptions_SetName(opts, name.c_str());
  natsConnection* nc = nullptr;
  if (s == NATS_OK) s = natsConnection_Connect(&nc, opts);
  natsOptions_Destroy(opts);
  if (s != NATS_OK) die("connect", s);
  return nc;
}

int run(const Options& o) {
  const auto servers = split(o.servers, ',');
  natsConnection* nc = connect(servers, "hydrant-jsbench");
  State st;
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.PublishAsync.AckHandler = on_ack;
  jo.PublishAsync.AckHandlerClosure = &st;
  jo.PublishAsync.MaxPending = static_cast<int64_t>(o.window) * 2;  // our window is the limit
  jsCtx* js = nullptr;
  natsStatus s = natsConnection_JetStream(&js, nc, &jo);
  if (s != NATS_OK) die("JetStream context", s);
  if (o.place_only) {
    const std::string leader = o.leader.empty() ? leader_of(js, o.stream) : place_leader(nc, js, o.stream, o.leader);
    fmt::print("{{\"stream\":\"{}\",\"leader\":\"{}\"}}\n", o.stream, leader);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    return leader.empty() || (!o.leader.empty() && leader != o.leader) ? 3 : 0;
  }

  // A fresh stream, configured as broker/cluster/engine.cpp configures Hydrant's.
  jsErrCode jerr = static_cast<jsErrCode>(0);
  js_DeleteStream(js, o.stream.c_str(), nullptr, &jerr);  // not found is fine
  const std::string subjects = split(o.subject, '.')[0] + ".>";
  const char* subject_list[] = {subjects.c_str()};
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  cfg.Name = o.stream.c_str();
  cfg.Subjects = subject_list;
  cfg.SubjectsLen = 1;
  cfg.Storage = js_FileStorage;
  cfg.Retention = js_LimitsPolicy;
  cfg.Discard = js_DiscardOld;
  cfg.Replicas = o.replicas;
  cfg.MaxAge = int64_t{86400} * 1'000'000'000;
  cfg.MaxBytes = int64_t{256} << 20;
  cfg.Duplicates = int64_t{120} * 1'000'000'000;
  cfg.AllowDirect = true;
  jsStreamInfo* info = nullptr;
  // A cluster that has just formed may not place a stream at once: tried for up to 15 s.
  const uint64_t place_deadline = loadgen::now_us() + 15'000'000;
  for (;;) {
    jerr = static_cast<jsErrCode>(0);
    s = js_AddStream(&info, js, &cfg, nullptr, &jerr);
    if (s == NATS_OK || loadgen::now_us() > place_deadline) break;
    nats_Sleep(250);
  }
  if (s != NATS_OK) die("create stream " + o.stream, s, jerr);
  std::string leader = info->Cluster && info->Cluster->Leader ? info->Cluster->Leader : "";
  jsStreamInfo_Destroy(info);
  if (!o.leader.empty()) leader = place_leader(nc, js, o.stream, o.leader);

  std::vector<natsConnection*> reader_conns;
  std::vector<jsCtx*> reader_js;
  std::vector<natsSubscription*> readers;
  for (int r = 0; r < o.readers; ++r) {
    // Reader r connects to server r (round robin), as node r + 1 does in cluster.py.
    std::vector<std::string> mine(servers.begin() + static_cast<long>(static_cast<size_t>(r) % servers.size()),
                                  servers.end());
    mine.insert(mine.end(), servers.begin(), servers.begin() + static_cast<long>(static_cast<size_t>(r) % servers.size()));
    natsConnection* rc = connect(mine, fmt::format("hydrant-jsbench reader {}", r));
    jsCtx* rjs = nullptr;
    s = natsConnection_JetStream(&rjs, rc, nullptr);
    if (s != NATS_OK) die("reader JetStream context", s);
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = o.stream.c_str();
    so.Ordered = true;
    so.Config.DeliverPolicy = js_DeliverNew;
    natsSubscription* sub = nullptr;
    s = js_Subscribe(&sub, rjs, subjects.c_str(), on_read, nullptr, nullptr, &so, &jerr);
    if (s != NATS_OK) die("reader subscribe", s, jerr);
    natsSubscription_SetPendingLimits(sub, -1, -1);
    reader_conns.push_back(rc);
    reader_js.push_back(rjs);
    readers.push_back(sub);
  }

  std::string payload = loadgen::Payload::make(static_cast<size_t>(o.size), 'a');
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MaxWait = static_cast<int64_t>(o.ack_timeout_ms);
  const double cpu0 = loadgen::cpu_s();
  const uint64_t start = loadgen::now_us();
  const uint64_t end = start + static_cast<uint64_t>(o.duration * 1e6);
  uint64_t sent = 0, publish_errors = 0;
  uint64_t t = start;
  while (t < end) {
    {
      std::unique_lock lock(st.mutex);
      if (st.inflight >= o.window) {
        st.freed.wait_for(lock, std::chrono::milliseconds(10), [&] { return st.inflight < o.window; });
        t = loadgen::now_us();
        continue;
      }
      ++st.inflight;
    }
    loadgen::Payload::stamp(payload, sent, t);
    s = js_PublishAsync(js, o.subject.c_str(), payload.data(), static_cast<int>(payload.size()), &po);
    if (s != NATS_OK) {
      ++publish_errors;
      std::lock_guard lock(st.mutex);
      --st.inflight;
    } else {
      ++sent;
    }
    t = loadgen::now_us();
  }
  const double run_s = static_cast<double>(t - start) / 1e6;
  const double cpu_run = loadgen::cpu_s() - cpu0;
  {
    std::unique_lock lock(st.mutex);
    st.running = false;
    st.freed.wait_for(lock, std::chrono::milliseconds(static_cast<int64_t>(o.drain * 1000)),
                      [&] { return st.inflight == 0; });
  }
  const uint64_t read = g_read.load();

  for (natsSubscription* sub : readers) {
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
  }
  for (jsCtx* rjs : reader_js) jsCtx_Destroy(rjs);
  for (natsConnection* rc : reader_conns) natsConnection_Destroy(rc);
  if (!o.keep_stream) js_DeleteStream(js, o.stream.c_str(), nullptr, nullptr);

  uint64_t acked = 0, acked_in_run = 0, failed = 0, p50 = 0, p99 = 0, pmax = 0;
  int leftover = 0;
  {
    std::lock_guard lock(st.mutex);  // copied out: a late acknowledgement may still come
    acked = st.acked, acked_in_run = st.acked_in_run, failed = st.failed, leftover = st.inflight;
    p50 = st.ack_hist.quantile(0.5), p99 = st.ack_hist.quantile(0.99), pmax = st.ack_hist.max();
  }
  fmt::print(
      "{{\"scenario\":\"jetstream\",\"label\":\"{}\",\"stream\":\"{}\",\"leader\":\"{}\",\"server\":\"{}\","
      "\"replicas\":{},\"size\":{},\"window\":{},\"readers\":{},\"duration_s\":{:.3f},\"sent\":{},"
      "\"msgs_per_s\":{:.1f},\"acked\":{},\"pub_refused\":{},\"publish_errors\":{},\"unacked\":{},"
      "\"acked_per_s\":{:.1f},\"ack_p50_us\":{},\"ack_p99_us\":{},\"ack_max_us\":{},"
      "\"reader_msgs\":{},\"loadgen_cpu\":{:.3f}}}\n",
      o.label, o.stream, leader, servers[0], o.replicas, o.size, o.window, o.readers, run_s, sent,
      static_cast<double>(sent) / run_s, acked, failed, publish_errors, leftover,
      static_cast<double>(acked_in_run) / run_s, p50, p99, pmax, read, cpu_run / run_s);
  std::fflush(stdout);
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  return leftover == 0 && failed == 0 && publish_errors == 0 ? 0 : 3;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  const int rc = run(o);
  nats_Close();
  return rc;
}
