// The HTTP API, as pure functions: a request (method, path, query) and the broker's figures in,
// a response (status, content type, body, headers) out. The bridge serves it; nothing here
// touches a socket. Versioned under /api/v1/; /metrics is Prometheus text; /healthz says ok.
// Errors are JSON: {"status":404,"error":"not found","message":"..."}.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "metrics/queue_summary.hpp"
#include "metrics/sys_topics.hpp"
#include "metrics/topic_activity.hpp"
#include "pulse/exchange_registry.hpp"
#include "store/segment_log.hpp"  // store::LogMetrics, plain figures

namespace hydrant::api {

struct HttpRequest {
  std::string_view method;
  std::string_view path;   // without the query string
  std::string_view query;  // "kind=exchange&limit=10", without '?'
};

struct HttpResponse {
  int status = 200;
  std::string content_type;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct Listener {
  std::string kind;  // mqtt, mqtts, http, https
  std::string address;
};

struct BrokerInfo {
  std::string version;
  std::chrono::system_clock::time_point started{};
  unsigned threads = 0;
  std::vector<Listener> listeners;
  std::string node;  // a cluster node's name; empty on a single node
};

// The single-node message log's figures, for /metrics.
struct MessageLogFigures {
  store::LogMetrics log;
  uint64_t epoch = 0;  // positions are "<epoch as 16 hex digits>-<sequence>"
};

// Recent answers of the public figures (/api/v1/exchanges, /api/v1/stats) by path and query,
// for kMaxAge: the viewer is a public page, and a thousand open ones polling every few seconds
// then cost one answer a second, not one each. Thread-safe; bounded (cleared when full).
class ResponseCache {
 public:
  static constexpr std::chrono::milliseconds kMaxAge{1000};
  static constexpr size_t kMaxEntries = 64;
  std::optional<HttpResponse> find(const std::string& key, std::chrono::steady_clock::time_point now);
  void put(std::string key, const HttpResponse& r, std::chrono::steady_clock::time_point now);

 private:
  struct Entry {
    std::chrono::steady_clock::time_point at;
    HttpResponse response;
  };
  std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
};

struct ApiSources {
  BrokerInfo info;
  std::function<metrics::Snapshot()> stats;
  std::function<std::vector<metrics::PrefixStats>()> activity;
  // The registered exchanges (pulse::ExchangeRegistry::list): /api/v1/exchanges lists those
  // without traffic too, and says which were declared. Unset: only what activity() has.
  std::function<std::vector<pulse::ExchangeRegistry::Exchange>()> registered_exchanges;
  // Why the message store cannot take durable writes ("" when it can): /readyz answers 503
  // with it, so that a load balancer stops sending publishers to a broker that would lose them.
  std::function<std::string()> store_problem;
  // The durable queues as of the hosts' last sweep, for their depths in /metrics; unset: none.
  std::function<std::vector<metrics::QueueSummary>()> queues;
  // True once the broker was asked to stop: /readyz answers 503 meanwhile. Unset: never.
  std::function<bool()> shutting_down;
  // A cluster node's view of the cluster, as a JSON object (GET /api/v1/cluster); unset on a
  // single node, which answers 404 there.
  std::function<std::string()> cluster;
  // A cluster node's metrics, as Prometheus text appended to /metrics; unset on a single node.
  std::function<std::string()> cluster_metrics;
  // The single-node store's log figures (store::MessageStore); unset in a cluster, whose
  // messages live in JetStream: no hydrant_log_* metrics then.
  std::function<MessageLogFigures()> message_log;
  // Unset: every request is answered afresh (tests).
  std::shared_ptr<ResponseCache> cache;
};

// The answer for an API path, or nullopt for a path the API does not own (a file of the viewer).
std::optional<HttpResponse> handle_api(const HttpRequest& request, const ApiSources& sources,
                                       std::chrono::system_clock::time_point now);

}  // namespace hydrant::api
