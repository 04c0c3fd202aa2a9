// The HTTP API's answers: every route, its errors, JSON that parses back (simdjson), and the
// Prometheus text format line by line; the JSON writer's escaping.
#include <doctest.h>
#include <simdjson.h>

#include <sstream>

#include "api/http_api.hpp"
#include "base/json_writer.hpp"

using namespace hydrant;
using namespace std::chrono_literals;

namespace {

const auto kNow = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));

api::ApiSources sources() {
  api::ApiSources s;
  s.info.version = "9.9.9";
  s.info.started = kNow - 90s;
  s.info.threads = 4;
  s.info.listeners = {{"mqtt", "0.0.0.0:1883"}, {"http", "0.0.0.0:8080"}};
  s.stats = [] {
    metrics::Snapshot m;
    m.uptime_seconds = 90;
    m.clients_connected = 3;
    m.messages_received = 10;
    m.subscriptions = 5;
    m.by_transport[static_cast<size_t>(metrics::Transport::Tcp)] = {2, 40};
    m.by_transport[static_cast<size_t>(metrics::Transport::Wss)] = {1, 6};
    return m;
  };
  s.activity = [] {
    metrics::PrefixStats a{"exchange/hgpushes/v1", true, 7, 700, 0.5, 50, kNow - 5s};
    metrics::PrefixStats b{"bench", false, 2, 20, 0, 0, kNow - 1s};
    metrics::PrefixStats c{"weird\"label\\\n", false, 1, 1, 0, 0, kNow - 9s};
    return std::vector<metrics::PrefixStats>{a, b, c};
  };
  return s;
}

api::HttpResponse get(std::string_view path, std::string_view query = {},
                      std::string_view method = "GET") {
  auto r = api::handle_api({method, path, query}, sources(), kNow);
  REQUIRE(r.has_value());
  return *r;
}

simdjson::dom::element parse(simdjson::dom::parser& parser, const std::string& body) {
  auto doc = parser.parse(body);
  REQUIRE_MESSAGE(doc.error() == simdjson::SUCCESS, body);
  return doc.value();
}

bool has_header(const api::HttpResponse& r, std::string_view name, std::string_view value) {
  for (const auto& [n, v] : r.headers) {
    if (n == name && v == value) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("paths the API does not own are left to the file server") {
  for (std::string_view path : {"/", "/index.html", "/app.js", "/mqtt", "/apix"}) {
    CHECK_FALSE(api::handle_api({"GET", path, ""}, sources(), kNow).has_value());
  }
}

TEST_CASE("/healthz and /api/v1/info") {
  simdjson::dom::parser parser;
  auto h = get("/healthz");
  CHECK(h.status == 200);
  CHECK(std::string_view(parse(parser, h.body)["status"]) == "ok");
  auto r = get("/api/v1/info");
  CHECK(r.status == 200);
  CHECK(r.content_type == "application/json");
  CHECK(has_header(r, "Cache-Control", "no-store"));
  auto doc = parse(parser, r.body);
  CHECK(std::string_view(doc["version"]) == "9.9.9");
  CHECK(uint64_t(doc["uptime_s"]) == 90);
  CHECK(uint64_t(doc["threads"]) == 4);
  auto listeners = simdjson::dom::array(doc["listeners"]);
  CHECK(listeners.size() == 2);
  CHECK(std::string_view(listeners.at(1)["kind"]) == "http");
  CHECK(doc["node"].error() == simdjson::NO_SUCH_FIELD);  // a single node names none
}

TEST_CASE("/readyz: ready while publishes can be stored, else 503 with the reason") {
  simdjson::dom::parser parser;
  auto ok = get("/readyz");
  CHECK(ok.status == 200);
  CHECK(bool(parse(parser, ok.body)["ready"]));
  api::ApiSources s = sources();
  s.store_problem = [] { return std::string("the cluster's engine is not reachable"); };
  auto r = api::handle_api({"GET", "/readyz", ""}, s, kNow);
  REQUIRE(r.has_value());
  CHECK(r->status == 503);
  auto doc = parse(parser, r->body);
  CHECK_FALSE(bool(doc["ready"]));
  CHECK(std::string_view(doc["reason"]) == "the cluster's engine is not reachable");
  // /healthz is liveness: the process answers, whatever the store says.
  auto alive = api::handle_api({"GET", "/healthz", ""}, s, kNow);
  REQUIRE(alive.has_value());
  CHECK(alive->status == 200);
  // Stopping: not ready, saying so.
  api::ApiSources stopping = sources();
  stopping.shutting_down = [] { return true; };
  auto down = api::handle_api({"GET", "/readyz", ""}, stopping, kNow);
  REQUIRE(down.has_value());
  CHECK(down->status == 503);
  CHECK(std::string_view(parse(parser, down->body)["reason"]) == "the broker is shutting down");
}

TEST_CASE("/metrics: each durable queue's depth and limit, labels escaped") {
  api::ApiSources s = sources();
  s.queues = [] {
    metrics::QueueSummary a;
    a.client_id = "queue/treeherder/jobs";
    a.owner = "treeherder";
    a.queued = 7;
    a.inflight = 2;
    a.limit = 10;
    metrics::QueueSummary b = a;
    b.client_id = "queue/odd/\"q\"";
    b.owner = "odd";
    b.unbounded = true;
    return std::vector<metrics::QueueSummary>{a, b};
  };
  auto r = api::handle_api({"GET", "/metrics", ""}, s, kNow);
  REQUIRE(r.has_value());
  CHECK(r->body.find("hydrant_queue_messages{queue=\"queue/treeherder/jobs\",owner=\"treeherder\"} 9\n") !=
        std::string::npos);
  CHECK(r->body.find("hydrant_queue_limit{queue=\"queue/treeherder/jobs\",owner=\"treeherder\"} 10\n") !=
        std::string::npos);
  CHECK(r->body.find("hydrant_queue_limit{queue=\"queue/odd/\\\"q\\\"\",owner=\"odd\"} 0\n") !=
        std::string::npos);
}

TEST_CASE("/metrics: connections and deliveries by transport, every transport listed") {
  const std::string body = get("/metrics").body;
  CHECK(body.find("hydrant_connections{transport=\"tcp\"} 2\n") != std::string::npos);
  CHECK(body.find("hydrant_connections{transport=\"tls\"} 0\n") != std::string::npos);
  CHECK(body.find("hydrant_connections{transport=\"ws\"} 0\n") != std::string::npos);
  CHECK(body.find("hydrant_connections{transport=\"wss\"} 1\n") != std::string::npos);
  CHECK(body.find("hydrant_deliveries_total{transport=\"tcp\"} 40\n") != std::string::npos);
  CHECK(body.find("hydrant_deliveries_total{transport=\"wss\"} 6\n") != std::string::npos);
  CHECK(body.find("# TYPE hydrant_deliveries_total counter\n") != std::string::npos);
}

TEST_CASE("/metrics: the message log's figures, the fsync histogram cumulative; absent unset") {
  CHECK(get("/metrics").body.find("hydrant_log_") == std::string::npos);  // a cluster node
  api::ApiSources s = sources();
  s.message_log = [] {
    api::MessageLogFigures f;
    f.epoch = 0xabc;
    f.log.bytes = 4096;
    f.log.segments = 2;
    f.log.first_sequence = 17;
    f.log.appends = 120;
    f.log.write_failures = 1;
    f.log.fsync_buckets[0] = 3;   // <= 0.1 ms
    f.log.fsync_buckets[2] = 2;   // <= 1 ms
    f.log.fsync_buckets.back() = 1;  // above 1 s
    f.log.fsyncs = 6;
    f.log.fsync_seconds = 1.5;
    return f;
  };
  auto r = api::handle_api({"GET", "/metrics", ""}, s, kNow);
  REQUIRE(r.has_value());
  const std::string& body = r->body;
  for (const char* line : {
           "hydrant_log_bytes 4096\n", "hydrant_log_segments 2\n", "hydrant_log_appends_total 120\n",
           "hydrant_log_write_failures_total 1\n",
           "hydrant_log_oldest_sequence{epoch=\"0000000000000abc\"} 17\n",
           "# TYPE hydrant_log_fsync_seconds histogram\n",
           "hydrant_log_fsync_seconds_bucket{le=\"0.0001\"} 3\n",
           "hydrant_log_fsync_seconds_bucket{le=\"0.0005\"} 3\n",
           "hydrant_log_fsync_seconds_bucket{le=\"0.001\"} 5\n",
           "hydrant_log_fsync_seconds_bucket{le=\"1\"} 5\n",
           "hydrant_log_fsync_seconds_bucket{le=\"+Inf\"} 6\n",
           "hydrant_log_fsync_seconds_sum 1.5\n", "hydrant_log_fsync_seconds_count 6\n"}) {
    CHECK_MESSAGE(body.find(line) != std::string::npos, line);
  }
}

TEST_CASE("/api/v1/info names a cluster node") {
  simdjson::dom::parser parser;
  api::ApiSources s = sources();
  s.info.node = "node2";
  auto r = api::handle_api({"GET", "/api/v1/info", ""}, s, kNow);
  REQUIRE(r.has_value());
  CHECK(std::string_view(parse(parser, r->body)["node"]) == "node2");
}

TEST_CASE("/api/v1/stats carries the snapshot") {
  simdjson::dom::parser parser;
  auto doc = parse(parser, get("/api/v1/stats").body);
  CHECK(int64_t(doc["clients_connected"]) == 3);
  CHECK(uint64_t(doc["messages_received"]) == 10);
  CHECK(uint64_t(doc["subscriptions"]) == 5);
}

TEST_CASE("/api/v1/exchanges: newest first, kind and limit filters, bad values are 400") {
  simdjson::dom::parser parser;
  auto all = simdjson::dom::array(parse(parser, get("/api/v1/exchanges").body)["exchanges"]);
  REQUIRE(all.size() == 3);
  CHECK(std::string_view(all.at(0)["prefix"]) == "bench");
  CHECK(std::string_view(all.at(1)["prefix"]) == "exchange/hgpushes/v1");
  CHECK(std::string_view(all.at(2)["prefix"]) == "weird\"label\\\n");  // escaped, parsed back
  auto only = simdjson::dom::array(
      parse(parser, get("/api/v1/exchanges", "kind=exchange").body)["exchanges"]);
  REQUIRE(only.size() == 1);
  CHECK(std::string_view(only.at(0)["kind"]) == "exchange");
  CHECK(uint64_t(only.at(0)["messages"]) == 7);
  CHECK(double(only.at(0)["messages_per_s"]) == doctest::Approx(0.5));
  auto one = simdjson::dom::array(parse(parser, get("/api/v1/exchanges", "limit=1").body)["exchanges"]);
  CHECK(one.size() == 1);
  for (std::string_view bad : {"kind=queue", "limit=0", "limit=abc", "limit=", "limit=20000"}) {
    auto r = get("/api/v1/exchanges", bad);
    CHECK(r.status == 400);
    auto doc = parse(parser, r.body);
    CHECK(int64_t(doc["status"]) == 400);
    CHECK(std::string_view(doc["error"]) == "bad request");
  }
}

TEST_CASE("/api/v1/stats: connections and deliveries by transport, every transport listed") {
  simdjson::dom::parser parser;
  auto doc = parse(parser, get("/api/v1/stats").body);
  auto connections = doc["connections_by_transport"];
  CHECK(int64_t(connections["tcp"]) == 2);
  CHECK(int64_t(connections["tls"]) == 0);
  CHECK(int64_t(connections["ws"]) == 0);
  CHECK(int64_t(connections["wss"]) == 1);
  auto deliveries = doc["deliveries_by_transport"];
  CHECK(uint64_t(deliveries["tcp"]) == 40);
  CHECK(uint64_t(deliveries["tls"]) == 0);
  CHECK(uint64_t(deliveries["ws"]) == 0);
  CHECK(uint64_t(deliveries["wss"]) == 6);
}

TEST_CASE("/api/v1/exchanges: owner, name, last publish in ms, the recent buckets") {
  api::ApiSources s = sources();
  s.activity = [] {
    metrics::PrefixStats a{"exchange/gerrit/v1/change-merged", true, 7, 700, 0.5, 50, kNow - 5s};
    a.recent[metrics::kRecentBuckets - 1] = 3;
    a.recent[0] = 4;
    metrics::PrefixStats b{"bench", false, 2, 20, 0, 0, kNow - 1s};
    return std::vector<metrics::PrefixStats>{a, b};
  };
  simdjson::dom::parser parser;
  auto all = simdjson::dom::array(
      parse(parser, api::handle_api({"GET", "/api/v1/exchanges", ""}, s, kNow)->body)["exchanges"]);
  REQUIRE(all.size() == 2);
  auto prefix = all.at(0);
  CHECK(std::string_view(prefix["prefix"]) == "bench");
  CHECK(prefix["owner"].error() == simdjson::NO_SUCH_FIELD);  // only exchanges have owners
  CHECK(int64_t(prefix["last_publish_ms"]) == 1'800'000'000'000 - 1000);
  auto exchange = all.at(1);
  CHECK(std::string_view(exchange["owner"]) == "gerrit");
  CHECK(std::string_view(exchange["name"]) == "v1/change-merged");
  CHECK_FALSE(bool(exchange["declared"]));  // no registry: nothing is known declared
  CHECK(int64_t(exchange["last_publish_ms"]) == 1'800'000'000'000 - 5000);
  CHECK(std::string_view(exchange["last_publish"]).starts_with("2027-01-15T"));
  CHECK(uint64_t(exchange["messages"]) == 7);
  CHECK(uint64_t(exchange["recent"]["bucket_s"]) == 20);
  auto recent = simdjson::dom::array(exchange["recent"]["messages"]);
  REQUIRE(recent.size() == 30);
  CHECK(uint64_t(recent.at(0)) == 4);  // oldest first
  CHECK(uint64_t(recent.at(1)) == 0);
  CHECK(uint64_t(recent.at(29)) == 3);
}

TEST_CASE("/api/v1/exchanges: registered exchanges without traffic listed last; declared marked") {
  api::ApiSources s = sources();
  s.registered_exchanges = [] {
    using Exchange = pulse::ExchangeRegistry::Exchange;
    return std::vector<Exchange>{{"hgpushes", "v1", 100, false},
                                 {"gerrit", "v1/change-merged", 200, true},
                                 {"gerrit", "v1/abandoned", 300, true}};
  };
  simdjson::dom::parser parser;
  auto body = api::handle_api({"GET", "/api/v1/exchanges", ""}, s, kNow)->body;
  auto all = simdjson::dom::array(parse(parser, body)["exchanges"]);
  REQUIRE(all.size() == 5);
  CHECK(std::string_view(all.at(0)["prefix"]) == "bench");
  CHECK(std::string_view(all.at(1)["prefix"]) == "exchange/hgpushes/v1");
  CHECK_FALSE(bool(all.at(1)["declared"]));  // registered by its first publish
  CHECK(uint64_t(all.at(1)["messages"]) == 7);
  // Never published: last, by prefix, with zeros and null times.
  auto quiet = all.at(3);
  CHECK(std::string_view(quiet["prefix"]) == "exchange/gerrit/v1/abandoned");
  CHECK(std::string_view(all.at(4)["prefix"]) == "exchange/gerrit/v1/change-merged");
  CHECK(std::string_view(quiet["kind"]) == "exchange");
  CHECK(std::string_view(quiet["owner"]) == "gerrit");
  CHECK(std::string_view(quiet["name"]) == "v1/abandoned");
  CHECK(bool(quiet["declared"]));
  CHECK(uint64_t(quiet["messages"]) == 0);
  CHECK(uint64_t(quiet["bytes"]) == 0);
  CHECK(double(quiet["messages_per_s"]) == 0);
  CHECK(quiet["last_publish"].is_null());
  CHECK(quiet["last_publish_ms"].is_null());
  auto recent = simdjson::dom::array(quiet["recent"]["messages"]);
  CHECK(recent.size() == 30);
  for (auto n : recent) CHECK(uint64_t(n) == 0);

  // kind and limit still apply.
  auto exchanges = simdjson::dom::array(
      parse(parser, api::handle_api({"GET", "/api/v1/exchanges", "kind=exchange"}, s, kNow)->body)["exchanges"]);
  CHECK(exchanges.size() == 3);
  auto prefixes = simdjson::dom::array(
      parse(parser, api::handle_api({"GET", "/api/v1/exchanges", "kind=prefix"}, s, kNow)->body)["exchanges"]);
  CHECK(prefixes.size() == 2);
  auto two = simdjson::dom::array(
      parse(parser, api::handle_api({"GET", "/api/v1/exchanges", "limit=2"}, s, kNow)->body)["exchanges"]);
  CHECK(two.size() == 2);
}

TEST_CASE("/api/v1/cluster: 404 on a single node, the node's view on a cluster node") {
  CHECK(get("/api/v1/cluster").status == 404);
  CHECK(get("/api/v1/cluster").body.find("single node") != std::string::npos);
  api::ApiSources s = sources();
  s.cluster = [] { return std::string(R"({"node":"a"})"); };
  auto r = api::handle_api({"GET", "/api/v1/cluster", ""}, s, kNow);
  REQUIRE(r.has_value());
  CHECK(r->status == 200);
  CHECK(r->body == R"({"node":"a"})");
  s.cluster_metrics = [] { return std::string("hydrant_cluster_delivered_total 7\n"); };
  auto m = api::handle_api({"GET", "/metrics", ""}, s, kNow);
  REQUIRE(m.has_value());
  CHECK(m->body.ends_with("hydrant_cluster_delivered_total 7\n"));
  CHECK(get("/metrics").body.find("hydrant_cluster_") == std::string::npos);
}

TEST_CASE("errors: unknown API path 404, other methods 405 with Allow, HEAD has no body") {
  simdjson::dom::parser parser;
  auto r = get("/api/v1/nothing");
  CHECK(r.status == 404);
  CHECK(std::string_view(parse(parser, r.body)["error"]) == "not found");
  auto post = get("/api/v1/stats", "", "POST");
  CHECK(post.status == 405);
  CHECK(has_header(post, "Allow", "GET, HEAD"));
  auto head = get("/api/v1/info", "", "HEAD");
  CHECK(head.status == 200);
  CHECK(head.body.empty());
}

TEST_CASE("/metrics is Prometheus text: HELP and TYPE before each family, escaped labels") {
  auto r = get("/metrics");
  CHECK(r.content_type == "text/plain; version=0.0.4; charset=utf-8");
  std::istringstream lines(r.body);
  std::string line;
  std::string family;
  int samples = 0;
  while (std::getline(lines, line)) {
    if (line.starts_with("# HELP ")) {
      family = line.substr(7, line.find(' ', 7) - 7);
      continue;
    }
    if (line.starts_with("# TYPE ")) {
      CHECK(line.starts_with("# TYPE " + family + " "));
      CHECK((line.ends_with(" counter") || line.ends_with(" gauge")));
      continue;
    }
    CHECK_MESSAGE(line.starts_with(family), line);  // a sample of the family just declared
    if (family.ends_with("_total")) CHECK(line.find("_total") != std::string::npos);
    ++samples;
  }
  // 15 broker-wide samples, 4 transports x (connections, deliveries), build info, 6 process_*,
  // 3 prefixes x (messages, bytes)
  CHECK(samples == 15 + 4 + 4 + 1 + 6 + 3 + 3);
  CHECK(r.body.find("hydrant_clients_connected 3\n") != std::string::npos);
  CHECK(r.body.find("hydrant_publishes_accepted_total 10\n") != std::string::npos);  // none refused
  CHECK(r.body.find("hydrant_build_info{version=\"9.9.9\"} 1\n") != std::string::npos);
  CHECK(r.body.find("\nprocess_open_fds ") != std::string::npos);
  CHECK(r.body.find(R"(hydrant_topic_messages_total{prefix="exchange/hgpushes/v1",kind="exchange"} 7)") !=
        std::string::npos);
  CHECK(r.body.find(R"(prefix="weird\"label\\\n")") != std::string::npos);
}

TEST_CASE("JsonWriter escapes control characters and replaces invalid UTF-8") {
  JsonWriter w;
  w.begin_object().member("s", std::string_view("a\"b\\c\n\x01 \xC3\xA9 \xFF")).key("list");
  w.begin_array().value(uint64_t{1}).value(true).null().end_array().end_object();
  CHECK(w.str() == "{\"s\":\"a\\\"b\\\\c\\n\\u0001 \xC3\xA9 \xEF\xBF\xBD\",\"list\":[1,true,null]}");
  simdjson::dom::parser parser;
  CHECK(parser.parse(w.str()).error() == simdjson::SUCCESS);
}

TEST_CASE("ResponseCache: an answer is reused for a second, per path and query, and the cache stays bounded") {
  api::ResponseCache cache;
  const auto t0 = std::chrono::steady_clock::time_point(100s);
  api::HttpResponse r;
  r.body = "first";
  cache.put("/api/v1/stats?", r, t0);
  REQUIRE(cache.find("/api/v1/stats?", t0 + 999ms));
  CHECK(cache.find("/api/v1/stats?", t0 + 999ms)->body == "first");
  CHECK_FALSE(cache.find("/api/v1/stats?", t0 + 1000ms));
  CHECK_FALSE(cache.find("/api/v1/exchanges?", t0));
  for (size_t i = 0; i < api::ResponseCache::kMaxEntries + 1; ++i) cache.put(std::to_string(i), r, t0);
  CHECK_FALSE(cache.find("/api/v1/stats?", t0));  // cleared when full
}

TEST_CASE("with a cache, /api/v1/stats answers from it within the second; without, afresh") {
  auto s = sources();
  auto calls = std::make_shared<int>(0);
  s.stats = [calls] {
    metrics::Snapshot m;
    m.clients_connected = static_cast<uint64_t>(++*calls);
    return m;
  };
  const api::HttpRequest request{"GET", "/api/v1/stats", ""};
  const auto uncached_a = api::handle_api(request, s, kNow)->body;
  const auto uncached_b = api::handle_api(request, s, kNow)->body;
  CHECK(uncached_a != uncached_b);
  s.cache = std::make_shared<api::ResponseCache>();
  const auto a = api::handle_api(request, s, kNow)->body;
  const auto b = api::handle_api(request, s, kNow)->body;
  CHECK(a == b);
  CHECK(*calls == 3);
}
