#include "api/http_api.hpp"

#include <algorithm>
#include <charconv>
#include <iterator>
#include <unordered_map>
#include <unordered_set>

#include <fmt/chrono.h>

#include "base/json_writer.hpp"
#include "api/responses.hpp"
#include "metrics/process_stats.hpp"
#include "util/wall_clock.hpp"

namespace hydrant::api {

namespace {

HttpResponse info(const ApiSources& s, std::chrono::system_clock::time_point now) {
  JsonWriter w;
  w.begin_object()
      .member("name", "hydrant")
      .member("version", s.info.version)
      .member("started", util::iso8601(s.info.started))
      .member("uptime_s", static_cast<uint64_t>(
          std::chrono::duration_cast<std::chrono::seconds>(now - s.info.started).count()))
      .member("threads", s.info.threads);
  if (!s.info.node.empty()) w.member("node", s.info.node);
  w.key("listeners").begin_array();
  for (const auto& l : s.info.listeners) {
    w.begin_object().member("kind", l.kind).member("address", l.address).end_object();
  }
  w.end_array().end_object();
  return json(200, w.take());
}

HttpResponse stats(const ApiSources& s) {
  const metrics::Snapshot m = s.stats();
  JsonWriter w;
  w.begin_object()
      .member("uptime_s", m.uptime_seconds)
      .member("clients_connected", m.clients_connected)
      .member("sessions", m.clients_total)
      .member("connections_total", m.connections_total)
      .member("messages_received", m.messages_received)
      .member("messages_sent", m.messages_sent)
      .member("messages_dropped", m.messages_dropped)
      .member("bytes_received", m.bytes_received)
      .member("bytes_sent", m.bytes_sent)
      .member("subscriptions", m.subscriptions)
      .member("retained", m.retained)
      .member("auth_failures", m.auth_failures)
      .member("publishes_refused", m.publishes_refused)
      .member("payloads_over_soft_limit", m.payloads_over_soft_limit);
  // Every transport always, zeros included, as /metrics does.
  w.key("connections_by_transport").begin_object();
  for (size_t t = 0; t < metrics::kTransports; ++t) {
    w.member(metrics::kTransportNames[t], m.by_transport[t].connected);
  }
  w.end_object().key("deliveries_by_transport").begin_object();
  for (size_t t = 0; t < metrics::kTransports; ++t) {
    w.member(metrics::kTransportNames[t], m.by_transport[t].deliveries);
  }
  w.end_object().end_object();
  return json(200, w.take());
}

HttpResponse exchanges(const ApiSources& s, std::string_view query) {
  std::optional<bool> only_exchanges;
  if (auto kind = query_param(query, "kind")) {
    if (*kind == "exchange") {
      only_exchanges = true;
    } else if (*kind == "prefix") {
      only_exchanges = false;
    } else {
      return error(400, "bad request", "kind must be exchange or prefix");
    }
  }
  size_t limit = 1000;
  if (auto text = query_param(query, "limit")) {
    size_t n = 0;
    auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), n);
    if (text->empty() || ec != std::errc() || ptr != text->data() + text->size() || n == 0 ||
        n > 10000) {
      return error(400, "bad request", "limit must be a whole number from 1 to 10000");
    }
    limit = n;
  }
  auto all = s.activity();
  std::unordered_map<std::string, bool> declared;  // registered exchange prefix: declared?
  if (s.registered_exchanges) {
    for (const auto& e : s.registered_exchanges()) {
      declared.emplace(fmt::format("exchange/{}/{}", e.owner, e.name), e.declared);
    }
    // Registered but quiet (declared, nothing published yet): listed with zeros.
    std::unordered_set<std::string_view> active;
    for (const auto& p : all) active.insert(p.prefix);
    std::vector<metrics::PrefixStats> quiet;
    for (const auto& [prefix, is_declared] : declared) {
      if (active.contains(prefix)) continue;
      metrics::PrefixStats p;
      p.prefix = prefix;
      p.exchange = true;
      quiet.push_back(std::move(p));
    }
    std::move(quiet.begin(), quiet.end(), std::back_inserter(all));
  }
  // Newest publish first; never published (time zero) last; the prefix breaks ties so the
  // order is stable between calls.
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
    if (a.last_publish != b.last_publish) return a.last_publish > b.last_publish;
    return a.prefix < b.prefix;
  });
  JsonWriter w;
  w.begin_object().key("exchanges").begin_array();
  size_t n = 0;
  for (const auto& p : all) {
    if (only_exchanges && p.exchange != *only_exchanges) continue;
    if (n++ == limit) break;
    const bool published = p.last_publish != std::chrono::system_clock::time_point{};
    w.begin_object()
        .member("prefix", p.prefix)
        .member("kind", p.exchange ? "exchange" : "prefix");
    if (p.exchange) {
      // "exchange/<owner>/<name...>": the name keeps its levels (v1/change-merged).
      constexpr std::string_view kExchangeRoot = "exchange/";
      const std::string_view rest = std::string_view(p.prefix).substr(kExchangeRoot.size());
      const size_t slash = rest.find('/');
      const auto it = declared.find(p.prefix);
      w.member("owner", rest.substr(0, slash))
          .member("name", slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1))
          .member("declared", it != declared.end() && it->second);
    }
    w.member("messages", p.messages)
        .member("bytes", p.bytes)
        .member("messages_per_s", p.messages_per_s)
        .member("bytes_per_s", p.bytes_per_s);
    w.key("last_publish");
    if (published) w.value(util::iso8601(p.last_publish)); else w.null();
    w.key("last_publish_ms");
    if (published) {
      w.value(static_cast<int64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                       p.last_publish.time_since_epoch()).count()));
    } else {
      w.null();
    }
    w.key("recent").begin_object().member("bucket_s", metrics::kRecentBucketSeconds);
    w.key("messages").begin_array();
    for (uint32_t count : p.recent) w.value(count);
    w.end_array().end_object();
    w.end_object();
  }
  w.end_array().end_object();
  return json(200, w.take());
}

// Prometheus label values escape backslash, double quote and newline.
std::string label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

// Connections and deliveries per transport: the four series always, zeros included, so that a
// rate() over them needs no absent-series handling.
void transport_metrics(std::string& out, const metrics::Snapshot& m) {
  out += "# HELP hydrant_connections Client connections open now, by transport (tcp, tls: MQTT "
         "listeners; ws, wss: WebSocket on http, https listeners).\n"
         "# TYPE hydrant_connections gauge\n";
  for (size_t t = 0; t < metrics::kTransports; ++t) {
    out += fmt::format("hydrant_connections{{transport=\"{}\"}} {}\n", metrics::kTransportNames[t],
                       m.by_transport[t].connected);
  }
  out += "# HELP hydrant_deliveries_total PUBLISH packets sent to subscribers, by transport.\n"
         "# TYPE hydrant_deliveries_total counter\n";
  for (size_t t = 0; t < metrics::kTransports; ++t) {
    out += fmt::format("hydrant_deliveries_total{{transport=\"{}\"}} {}\n",
                       metrics::kTransportNames[t], m.by_transport[t].deliveries);
  }
}

void message_log_metrics(std::string& out, const MessageLogFigures& f) {
  const store::LogMetrics& l = f.log;
  auto metric = [&](std::string_view name, std::string_view type, std::string_view help,
                    auto value) {
    out += fmt::format("# HELP hydrant_log_{0} {1}\n# TYPE hydrant_log_{0} {2}\nhydrant_log_{0} {3}\n",
                       name, help, type, value);
  };
  metric("bytes", "gauge", "Bytes of the message log on disk, segment headers included.", l.bytes);
  metric("segments", "gauge", "Segment files of the message log.", l.segments);
  metric("appends_total", "counter",
         "Records appended to the message log (messages and session state) since start.",
         l.appends);
  metric("write_failures_total", "counter",
         "Batch writes or syncs of the message log that failed (a full disk); their records were "
         "refused.",
         l.write_failures);
  out += fmt::format(
      "# HELP hydrant_log_oldest_sequence The oldest record the message log keeps (0: empty): a "
      "position \"<epoch>-<sequence>\" is this log's when <epoch> is the epoch label (16 hex "
      "digits), and kept when <sequence> is at least this.\n"
      "# TYPE hydrant_log_oldest_sequence gauge\n"
      "hydrant_log_oldest_sequence{{epoch=\"{:016x}\"}} {}\n",
      f.epoch, l.first_sequence);
  out += "# HELP hydrant_log_fsync_seconds Time the message log's flusher spent in each fdatasync "
         "(one per batch with durability fsync; at most every 100 ms with batch).\n"
         "# TYPE hydrant_log_fsync_seconds histogram\n";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < l.fsync_buckets.size(); ++i) {
    cumulative += l.fsync_buckets[i];
    const std::string le =
        i < store::kFsyncBuckets.size() ? fmt::format("{}", store::kFsyncBuckets[i]) : "+Inf";
    out += fmt::format("hydrant_log_fsync_seconds_bucket{{le=\"{}\"}} {}\n", le, cumulative);
  }
  out += fmt::format("hydrant_log_fsync_seconds_sum {}\nhydrant_log_fsync_seconds_count {}\n",
                     l.fsync_seconds, cumulative);
}

HttpResponse prometheus(const ApiSources& s) {
  const metrics::Snapshot m = s.stats();
  std::string out;
  auto metric = [&](std::string_view name, std::string_view type, std::string_view help,
                    auto value) {
    out += fmt::format("# HELP hydrant_{} {}\n# TYPE hydrant_{} {}\nhydrant_{} {}\n", name, help,
                       name, type, name, value);
  };
  metric("uptime_seconds", "gauge", "Seconds since the broker started.", m.uptime_seconds);
  metric("clients_connected", "gauge", "Client connections open now.", m.clients_connected);
  metric("sessions", "gauge", "Sessions known, connected or not.", m.clients_total);
  metric("connections_total", "counter", "Client connections accepted.", m.connections_total);
  metric("messages_received_total", "counter",
         "PUBLISH packets received from clients, accepted or refused (see publishes_accepted_total).",
         m.messages_received);
  metric("messages_sent_total", "counter", "PUBLISH packets sent to clients.", m.messages_sent);
  metric("messages_dropped_total", "counter",
         "Deliveries dropped (outbound budget, queue limit, packet size, expiry).",
         m.messages_dropped);
  metric("bytes_received_total", "counter", "Bytes received from clients.", m.bytes_received);
  metric("bytes_sent_total", "counter", "Bytes sent to clients.", m.bytes_sent);
  metric("subscriptions", "gauge", "Subscriptions.", m.subscriptions);
  metric("retained_messages", "gauge", "Retained messages.", m.retained);
  metric("auth_failures_total", "counter", "CONNECTs refused for wrong credentials.",
         m.auth_failures);
  metric("publishes_refused_total", "counter",
         "PUBLISH packets refused: access rules, exchange payload checks, content ($SYS, UTF-8).",
         m.publishes_refused);
  metric("payloads_over_soft_limit_total", "counter",
         "Exchange payloads above payload-soft-limit (accepted).", m.payloads_over_soft_limit);
  metric("publishes_accepted_total", "counter",
         "PUBLISH packets accepted (received and not refused).",
         m.messages_received >= m.publishes_refused ? m.messages_received - m.publishes_refused : 0);
  transport_metrics(out, m);
  if (s.message_log) message_log_metrics(out, s.message_log());
  out += fmt::format("# HELP hydrant_build_info The broker's version.\n# TYPE hydrant_build_info gauge\n"
                     "hydrant_build_info{{version=\"{}\"}} 1\n", label(s.info.version));
  const metrics::ProcessStats proc = metrics::read_process_stats();
  auto process = [&](std::string_view name, std::string_view type, std::string_view help, auto value) {
    out += fmt::format("# HELP process_{0} {1}\n# TYPE process_{0} {2}\nprocess_{0} {3}\n", name, help, type, value);
  };
  process("cpu_seconds_total", "counter", "User and system CPU time spent, in seconds.", proc.cpu_seconds);
  process("resident_memory_bytes", "gauge", "Resident memory size in bytes.", proc.resident_bytes);
  process("virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", proc.virtual_bytes);
  process("open_fds", "gauge", "Open file descriptors.", proc.open_fds);
  process("max_fds", "gauge", "The limit of open file descriptors.", proc.max_fds);
  process("start_time_seconds", "gauge", "Start time of the process since the unix epoch, in seconds.",
          fmt::format("{:.2f}", proc.start_time_seconds));
  if (s.queues) {
    // One series per durable queue: their number is bounded by the users' queue limits.
    const auto queues = s.queues();
    out += "# HELP hydrant_queue_messages Messages waiting in a durable queue (queued and in flight).\n"
           "# TYPE hydrant_queue_messages gauge\n";
    for (const auto& q : queues) {
      out += fmt::format("hydrant_queue_messages{{queue=\"{}\",owner=\"{}\"}} {}\n", label(q.client_id),
                         label(q.owner), q.queued + q.inflight);
    }
    out += "# HELP hydrant_queue_limit A durable queue's length limit (0: unbounded).\n"
           "# TYPE hydrant_queue_limit gauge\n";
    for (const auto& q : queues) {
      out += fmt::format("hydrant_queue_limit{{queue=\"{}\",owner=\"{}\"}} {}\n", label(q.client_id),
                         label(q.owner), q.unbounded ? 0 : q.limit);
    }
  }
  const auto activity = s.activity();
  // Since this start: what history held before it (the API's figures) is left out.
  out += "# HELP hydrant_topic_messages_total Messages published per exchange or topic prefix.\n"
         "# TYPE hydrant_topic_messages_total counter\n";
  for (const auto& p : activity) {
    out += fmt::format("hydrant_topic_messages_total{{prefix=\"{}\",kind=\"{}\"}} {}\n",
                       label(p.prefix), p.exchange ? "exchange" : "prefix", p.messages - p.seeded_messages);
  }
  out += "# HELP hydrant_topic_bytes_total Payload bytes published per exchange or topic prefix.\n"
         "# TYPE hydrant_topic_bytes_total counter\n";
  for (const auto& p : activity) {
    out += fmt::format("hydrant_topic_bytes_total{{prefix=\"{}\",kind=\"{}\"}} {}\n",
                       label(p.prefix), p.exchange ? "exchange" : "prefix", p.bytes - p.seeded_bytes);
  }
  if (s.cluster_metrics) out += s.cluster_metrics();
  HttpResponse r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = std::move(out);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

}  // namespace

std::optional<HttpResponse> ResponseCache::find(const std::string& key,
                                                std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end() || now - it->second.at >= kMaxAge) return std::nullopt;
  return it->second.response;
}

void ResponseCache::put(std::string key, const HttpResponse& r, std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (entries_.size() >= kMaxEntries) entries_.clear();  // many distinct queries: start over
  entries_.insert_or_assign(std::move(key), Entry{now, r});
}

std::optional<HttpResponse> handle_api(const HttpRequest& request, const ApiSources& sources,
                                       std::chrono::system_clock::time_point now) {
  const std::string_view path = request.path;
  const bool api = path == "/api" || path.starts_with("/api/");
  const bool known = path == "/api/v1/info" || path == "/api/v1/stats" ||
                     path == "/api/v1/exchanges" || path == "/api/v1/cluster" ||
                     path == "/metrics" || path == "/healthz" || path == "/readyz";
  if (!api && !known) return std::nullopt;
  if (!known) return error(404, "not found", fmt::format("no API at {}", path));
  const bool head = request.method == "HEAD";
  if (request.method != "GET" && !head) {
    auto r = error(405, "method not allowed", fmt::format("{} takes GET or HEAD", path));
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }
  HttpResponse r;
  if (path == "/api/v1/info") {
    r = info(sources, now);
  } else if (path == "/api/v1/stats" || path == "/api/v1/exchanges") {
    const auto at = std::chrono::steady_clock::now();
    std::string key = fmt::format("{}?{}", path, request.query);
    std::optional<HttpResponse> cached = sources.cache ? sources.cache->find(key, at) : std::nullopt;
    if (cached) {
      r = std::move(*cached);
    } else {
      r = path == "/api/v1/stats" ? stats(sources) : exchanges(sources, request.query);
      if (sources.cache) sources.cache->put(std::move(key), r, at);
    }
  } else if (path == "/api/v1/cluster") {
    r = sources.cluster ? json(200, sources.cluster())
                        : error(404, "not found", "this broker is a single node (no cluster key)");
  } else if (path == "/metrics") {
    r = prometheus(sources);
  } else if (path == "/readyz") {
    // Ready: publishes can be stored (the log writable; in a cluster, the engine reachable), and
    // the broker is not stopping. A load balancer sends clients elsewhere otherwise.
    std::string problem = sources.shutting_down && sources.shutting_down()
                              ? "the broker is shutting down"
                              : (sources.store_problem ? sources.store_problem() : "");
    JsonWriter w;
    w.begin_object().member("ready", problem.empty());
    if (!problem.empty()) w.member("reason", problem);
    r = json(problem.empty() ? 200 : 503, w.end_object().take());
  } else {
    // Liveness: the process answers. Whether it can take publishes is /readyz's question.
    r = json(200, R"({"status":"ok"})");
  }
  if (head) r.body.clear();
  return r;
}

}  // namespace hydrant::api
