// hydrant-bugzilla: an HTTP endpoint for Bugzilla (BMO) webhooks. Each POST on --path is one
// event; it is published to exchange/<clientId>/<exchange>/<event.routing_key words>
// (bugzilla_event.hpp says what the payload holds, private bugs reduced to ids) and answered
// 200 only once the broker confirmed it (QoS 1 PUBACK), so that Bugzilla, which retries any
// non-2xx, never believes an event delivered that the bus does not have. Timeout: 503; broker
// refusal: 502; bad key: 401; not an event: 400; over 1 MiB: 413; other methods: 405;
// GET /healthz: 200. SIGTERM/SIGINT stop the listener, answer what waits, flush, exit.
// What it does not do: TLS (put it behind the reverse proxy that terminates HTTPS), or fetch
// private bugs' details (readers ask Bugzilla's REST API with their own credentials).
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "bugzilla_event.hpp"
#include "deliveries.hpp"
#include "input.hpp"
#include "options.hpp"
#include "publisher.hpp"
#include "util/log.hpp"

using namespace hydrant;
using namespace hydrant::publishers;

namespace {

constexpr const char* kUsage = R"(hydrant-bugzilla: Bugzilla (BMO) webhooks onto an exchange
usage: hydrant-bugzilla --client-id NAME [--token-file FILE] [--exchange NAME (v1)]
                        [--listen HOST:PORT (127.0.0.1:8091)] [--path /]
                        [--api-key-file FILE] [--api-key-header X-Api-Key]
                        [--confirm-timeout SECS (30)] [--max-payload BYTES (262144)] [--dry-run]
  POST <path>: one webhook event; 200 once the broker confirmed it, 503 if it did not in time.
  GET /healthz: 200.
)";

constexpr size_t kMaxBody = 1u << 20;  // 413 above
constexpr const char* kHealthPath = "/healthz";

struct WebhookOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8091;
  std::string path = "/";
  std::string api_key;  // empty: no key checked
  std::string api_key_header = "X-Api-Key";
  std::chrono::seconds confirm_timeout{30};
  size_t max_payload = 262144;  // the broker's default payload-hard-limit
};

std::string read_key_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw UsageError(fmt::format("--api-key-file: cannot read {}", path));
  std::stringstream ss;
  ss << in.rdbuf();
  std::string k = ss.str();
  while (!k.empty() && (k.back() == '\n' || k.back() == '\r' || k.back() == ' ')) k.pop_back();
  if (k.empty()) throw UsageError(fmt::format("--api-key-file: {} is empty", path));
  return k;
}

void parse_listen(std::string_view text, WebhookOptions& wo) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) throw UsageError("--listen: expected HOST:PORT");
  std::string_view host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  wo.host = host;
  wo.port = static_cast<uint16_t>(parse_number("--listen", text.substr(colon + 1), 1, 65535));
}

// httplib takes routes as regular expressions: the path is matched literally.
std::string literal_regex(std::string_view path) {
  std::string out;
  for (char c : path) {
    if (std::string_view("^$\\.*+?()[]{}|").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

// The key's length may show in the timing; its bytes do not.
bool equal_constant_time(std::string_view given, std::string_view key) {
  unsigned char diff = given.size() != key.size();
  for (size_t i = 0; i < key.size(); ++i) {
    diff |= static_cast<unsigned char>((i < given.size() ? given[i] : 0) ^ key[i]);
  }
  return diff == 0;
}

void answer(httplib::Response& res, int status, std::string text) {
  res.status = status;
  res.set_content(text + "\n", "text/plain; charset=utf-8");
}

// One webhook POST: key → body → publish → wait → status. The reply's text is also what the
// request's log line says.
void handle_webhook(const WebhookOptions& wo, const CommonOptions& co, Deliveries& deliveries,
                    const httplib::Request& req, httplib::Response& res) {
  if (!wo.api_key.empty() &&
      !equal_constant_time(req.get_header_value(wo.api_key_header.c_str()), wo.api_key)) {
    return answer(res, 401, fmt::format("missing or wrong {}", wo.api_key_header));
  }
  simdjson::dom::parser parser;
  auto parsed = parse_webhook(parser, req.body, co.exchange_topic(), wo.max_payload);
  if (!parsed.event) return answer(res, 400, parsed.error);
  WebhookEvent& ev = *parsed.event;
  const std::string what = fmt::format("topic={} bug={} reduced={}{}", ev.topic, ev.bug_id, ev.reduced,
                                       ev.truncated ? " truncated=true" : "");
  const auto r = deliveries.deliver(req.body, std::move(ev.topic), std::move(ev.payload),
                                    std::chrono::duration_cast<std::chrono::milliseconds>(wo.confirm_timeout));
  switch (r.outcome) {
    case Deliveries::Outcome::Confirmed: return answer(res, 200, "published " + what);
    case Deliveries::Outcome::AlreadyConfirmed: return answer(res, 200, "already published " + what);
    case Deliveries::Outcome::Refused: return answer(res, 502, fmt::format("{} {}", r.why, what));
    case Deliveries::Outcome::TimedOut:
      return answer(res, 503, fmt::format("the broker did not confirm within {}s (kept; retry) {}",
                                          wo.confirm_timeout.count(), what));
    case Deliveries::Outcome::Stopping: return answer(res, 503, "stopping " + what);
  }
}

void log_request(const httplib::Request& req, const httplib::Response& res) {
  std::string_view text = res.body;
  while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  auto line = [&] {
    return fmt::format("event=request method={} path=\"{}\" status={} remote={} bytes={} result=\"{}\"", req.method,
                       req.path, res.status, req.remote_addr, req.body.size(), text);
  };
  if (res.status >= 500) log::warn("{}", line());
  else log::info("{}", line());
}

void setup_routes(httplib::Server& svr, const WebhookOptions& wo, const CommonOptions& co,
                  Deliveries& deliveries, Publisher& publisher) {
  // SO_REUSEADDR only: httplib's default SO_REUSEPORT would let a second instance bind the same
  // port and silently take half of the webhooks.
  svr.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  svr.set_payload_max_length(kMaxBody);
  svr.set_read_timeout(std::chrono::seconds(30));
  svr.set_logger(log_request);
  // Before the body is read: any method but POST on the webhook path is 405.
  svr.set_pre_routing_handler([&wo](const httplib::Request& req, httplib::Response& res) {
    if (req.path != wo.path || req.method == "POST") return httplib::Server::HandlerResponse::Unhandled;
    res.set_header("Allow", "POST");
    answer(res, 405, "only POST here");
    return httplib::Server::HandlerResponse::Handled;
  });
  svr.Post(literal_regex(wo.path), [&](const httplib::Request& req, httplib::Response& res) {
    handle_webhook(wo, co, deliveries, req, res);
  });
  svr.Get(kHealthPath, [&publisher](const httplib::Request&, httplib::Response& res) {
    const auto s = publisher.stats();
    answer(res, 200, fmt::format("ok connected={} buffered={} confirmed={} refused={}",
                                 s.connected, s.buffered, s.confirmed, s.refused));
  });
}

}  // namespace

int main(int argc, char** argv) {
  WebhookOptions wo;
  CommonOptions co;
  try {
    co = parse_options(
        argc, argv, kUsage,
        {{"listen", "HOST:PORT to accept webhooks on (127.0.0.1:8091)", true, [&](auto v) { parse_listen(v, wo); }},
         {"path", "the webhook path (/)", true, [&](auto v) { wo.path = v; }},
         {"api-key-file", "require this key (the file's content) in the API key header", true,
          [&](auto v) { wo.api_key = read_key_file(std::string(v)); }},
         {"api-key-header", "the header holding the key (X-Api-Key)", true, [&](auto v) { wo.api_key_header = v; }},
         {"confirm-timeout", "seconds to wait for the broker's confirmation before 503 (30)", true,
          [&](auto v) { wo.confirm_timeout = std::chrono::seconds(parse_number("--confirm-timeout", v, 1, 3600)); }},
         {"max-payload", "a public event's body above this is published reduced, truncated:true (262144)", true,
          [&](auto v) { wo.max_payload = parse_number("--max-payload", v, 256, 64u << 20); }}},
        "v1");
    if (!wo.path.starts_with('/') || wo.path == kHealthPath) {
      throw UsageError("--path: an absolute path other than /healthz");
    }
    if (wo.api_key_header.empty()) throw UsageError("--api-key-header: a header name");
  } catch (const UsageError& e) {
    std::fprintf(stderr, "hydrant-bugzilla: %s\n", e.what());
    return kExitUsage;
  }
  install_stop_signals();

  Publisher publisher(co, "bugzilla");
  Deliveries deliveries(publisher, Deliveries::Limits{});
  httplib::Server svr;
  setup_routes(svr, wo, co, deliveries, publisher);
  // Bind first: a taken port is an error now, not after the broker connection.
  if (!svr.bind_to_port(wo.host.c_str(), wo.port)) {
    std::fprintf(stderr, "hydrant-bugzilla: cannot listen on %s:%u\n", wo.host.c_str(), wo.port);
    return kExitFailed;
  }
  try {
    publisher.start();
  } catch (const RefusedCredentials& e) {
    std::fprintf(stderr, "hydrant-bugzilla: %s\n", e.what());
    return kExitRefused;
  }
  // The stop signals only set a flag: this thread turns it into stopping the server.
  std::atomic<bool> done{false};
  std::thread watcher([&] {
    while (!g_stop_requested.load() && !done.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    deliveries.stop(std::chrono::seconds(2));  // waiting requests answer (503) within 2 s
    // stop() does nothing before listen_after_bind() has started: repeat until it returned.
    while (!done.load()) {
      svr.stop();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  log::info("event=listening address={}:{} path={} exchange={} api_key={}", wo.host, wo.port, wo.path,
            co.exchange_topic(), wo.api_key.empty() ? "off" : wo.api_key_header);
  const bool served = svr.listen_after_bind();
  done.store(true);
  watcher.join();
  log::info("event=flushing buffered={}", publisher.stats().buffered);
  const size_t left = publisher.stop();
  if (left) return kExitUnflushed;
  if (!served && !g_stop_requested.load()) {
    log::error("event=listener-failed address={}:{}", wo.host, wo.port);
    return kExitFailed;
  }
  return kExitOk;
}
