// hydrant: parse arguments and configuration, build the broker, run until SIGTERM/SIGINT,
// reload on SIGHUP, watch the users file. The access model's state is set up in access_setup.cpp.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <span>
#include <thread>

#include <fmt/ranges.h>

#include "access_setup.hpp"
#include "admin/commands.hpp"
#include "admin/declared_exchanges.hpp"
#include "api/admin_api.hpp"
#include "api/history_api.hpp"
#include "api/http_api.hpp"
#include "auth/access_control.hpp"
#include "bridge/ws_bridge.hpp"
#include "cluster/cluster_store.hpp"
#include "cluster/engine.hpp"
#include "config/config.hpp"
#include "config/resolve.hpp"
#include "core/broker.hpp"
#include "net/listener.hpp"
#include "net/worker.hpp"
#include "store/message_store.hpp"
#include "tls/context_holder.hpp"
#include "util/log.hpp"

namespace {

using namespace hydrant;

constexpr const char* kVersion = "0.1.0";

session::Limits limits_from(const config::Config& c) {
  session::Limits l;
  l.max_packet_size = c.max_packet_size;
  l.receive_maximum = c.receive_maximum;
  l.max_inflight = c.max_inflight;
  l.topic_alias_maximum = c.topic_alias_maximum;
  l.max_queued_messages = c.max_queued_messages;
  l.outbound_budget = c.outbound_budget;
  l.stuck_timeout = c.stuck_timeout;
  l.connect_timeout = c.connect_timeout;
  l.max_keepalive = c.max_keepalive;
  l.max_session_expiry = c.max_session_expiry;
  l.deny_subscribe = c.deny_subscribe;
  l.anon_max_subscriptions = c.anon_max_subscriptions;
  l.max_subscriptions_per_session = c.max_subscriptions_per_session;
  l.anon_max_packet_size = c.anon_max_packet_size;
  l.payload_soft_limit = c.payload_soft_limit;
  l.payload_hard_limit = c.payload_hard_limit;
  l.auth_failure_delay_ms = c.auth_failure_delay_ms;
  l.queue_warning_percent = c.queue_warning_percent;
  l.queue_overlimit_timeout = c.queue_overlimit_timeout;
  return l;
}

// Creates the data directory and locks it, so that two brokers never share one.
int lock_data_dir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw config::ConfigError(fmt::format("data {}: {}", dir, ec.message()));
  const std::string path = dir + "/hydrant.lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw config::ConfigError(fmt::format("{}: {}", path, strerror(errno)));
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    throw config::ConfigError(fmt::format("data {}: in use by another hydrant", dir));
  }
  return fd;
}

// The viewer's files: web-root, else the build tree's web/ next to this executable
// (build/broker/hydrant -> build/web), else the installed copy.
std::string viewer_root(const config::Config& c) {
  if (!c.web_root.empty()) return c.web_root;
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const auto built = exe.parent_path().parent_path() / "web";
    if (std::filesystem::exists(built / "index.html", ec)) return built.string();
  }
  return HYDRANT_WEB_INSTALL_DIR;
}

bridge::BridgeOptions bridge_options_from(const config::Config& c) {
  bridge::BridgeOptions o;
  for (const auto& ep : c.http) o.listeners.push_back({ep.host, ep.port, false});
  for (const auto& ep : c.https) o.listeners.push_back({ep.host, ep.port, true});
  o.tls_cert = c.tls_cert;
  o.tls_key = c.tls_key;
  o.web_root = viewer_root(c);
  o.allowed_origins = c.ws_origins;
  for (const auto& proxy : c.trusted_proxies) {
    if (auto addr = util::PeerAddress::parse_ip(proxy)) o.trusted_proxies.push_back(*addr);
  }
  o.max_message = c.max_ws_frame;
  return o;
}

// The configuration with the listeners' host names resolved (at start, and again on a reload:
// the same names compare equal). Throws ConfigError.
config::Config load_config(const config::CommandLine& cli) {
  config::Config c = config::load(cli);
  config::resolve_listener_hosts(c);
  return c;
}

// Keys a running broker cannot change: a reload keeps their running values and returns the
// names of those whose new values differ (they apply after a restart).
std::vector<std::string_view> keep_restart_only_keys(config::Config& next, const config::Config& current) {
  std::vector<std::string_view> kept;
  auto keep = [&](std::string_view key, auto member) {
    if (next.*member != current.*member) {
      kept.push_back(key);
      next.*member = current.*member;
    }
  };
  using C = config::Config;
  keep("mqtt", &C::mqtt);
  keep("mqtts", &C::mqtts);
  keep("http", &C::http);
  keep("https", &C::https);
  keep("data", &C::data_dir);
  keep("threads", &C::threads);
  keep("open", &C::open);
  keep("web-root", &C::web_root);
  keep("anon-max-connections-per-ip", &C::anon_max_connections_per_ip);
  keep("token-secret-file", &C::token_secret_file);
  keep("notify-command", &C::notify_command);
  keep("reserved-names", &C::reserved_names);
  keep("durability", &C::durability);
  keep("history-max-age", &C::history_max_age);
  keep("history-max-bytes", &C::history_max_bytes);
  keep("cluster", &C::cluster);
  keep("node-name", &C::node_name);
  keep("cluster-replicas", &C::cluster_replicas);
  keep("cluster-prefix", &C::cluster_prefix);
  keep("cluster-creds", &C::cluster_creds);
  keep("cluster-ca", &C::cluster_ca);
  keep("cluster-ack-timeout", &C::cluster_ack_timeout);
  keep("cluster-window", &C::cluster_window);
  keep("cluster-history-rate", &C::cluster_history_rate);
  return kept;
}

// SIGHUP: re-read the configuration; a bad one is refused and the running one kept.
void reload(const config::CommandLine& cli, config::Config& current, core::Broker& broker,
            tls::ContextHolder* tls_contexts, bridge::WebSocketBridge* bridge) {
  config::Config next;
  try {
    next = load_config(cli);
  } catch (const config::ConfigError& e) {
    log::error("event=reload-refused error=\"{}\" (keeping the running configuration)", e.what());
    return;
  }
  if (const auto kept = keep_restart_only_keys(next, current); !kept.empty()) {
    log::warn("event=reload kept_until_restart=\"{}\" note=\"these keys changed but take effect "
              "after a restart; the running values are kept\"", fmt::join(kept, ","));
  }
  if (tls_contexts && !next.tls_cert.empty()) {
    // New TLS connections use the certificate as it is on disk now; a bad one is refused.
    // The pair is checked once, here, for every TLS listener: libwebsockets takes a key that
    // does not match its certificate without saying so.
    const auto loaded = tls_contexts->reload(next.tls_cert, next.tls_key);
    std::vector<std::string_view> listeners;
    if (!current.mqtts.empty()) listeners.push_back("mqtts");
    if (!current.https.empty()) listeners.push_back("https");
    for (std::string_view listener : listeners) {
      if (loaded) {
        log::info("event=tls-reloaded listener={} {}", listener, loaded.context->describe());
      } else {
        log::error("event=tls-reload-refused listener={} error=\"{}\" (keeping the running "
                   "certificate)", listener, loaded.error);
      }
    }
    if (loaded && bridge) bridge->reload_certificate();
  }
  log::set_level(next.log_level);
  broker.reconfigure(limits_from(next), next.sys_interval, next.max_connections);
  broker.router().set_retained_limits(next.max_retained_per_user, next.max_retained_total);
  broker.router().set_subscription_limits(next.max_subscriptions_per_user, next.max_subscriptions_total);
  current = next;
  log::info("event=reloaded config=\"{}\"", config::describe(current));
}

// The certificate for mqtts and https, or null when neither is configured. Throws ConfigError.
std::shared_ptr<tls::ContextHolder> load_tls(const config::Config& cfg) {
  if (cfg.mqtts.empty() && cfg.https.empty()) return nullptr;
  auto loaded = tls::ServerContext::load(cfg.tls_cert, cfg.tls_key);
  if (!loaded) throw config::ConfigError(loaded.error);
  if (loaded.context->expired()) {
    log::warn("event=tls-certificate-expired {}", loaded.context->describe());
  }
  log::info("event=tls {}", loaded.context->describe());
  return std::make_shared<tls::ContextHolder>(loaded.context);
}

// Opens the message log in <data>/log and recovers it; a log it cannot trust stops start-up.
std::shared_ptr<store::MessageStore> open_store(const config::Config& cfg) {
  store::StoreOptions o;
  o.dir = cfg.data_dir + "/log";
  o.durability = cfg.durability == "batch"  ? store::Durability::Batch
                 : cfg.durability == "none" ? store::Durability::None
                                            : store::Durability::Fsync;
  o.max_age_ms = static_cast<int64_t>(cfg.history_max_age) * 1000;
  o.max_exchange_bytes = cfg.history_max_bytes;
  try {
    std::shared_ptr<store::MessageStore> st = store::MessageStore::open(o);
    log::info("event=store-recovered dir=\"{}\" durability={} {}", o.dir, cfg.durability,
              st->recovery_report());
    return st;
  } catch (const store::StoreError& e) {
    throw config::ConfigError(fmt::format("message log: {}", e.what()));
  }
}

// The cluster's engine, when `cluster` names one: connected, its stream and buckets created or
// checked. An engine that cannot be reached or used stops start-up. Exchange messages then go
// through its stream (cluster/cluster_store.hpp); history, sessions and retained state stay on
// this node for now.
std::unique_ptr<cluster::Engine> start_cluster(const config::Config& cfg) {
  if (cfg.cluster.empty()) return nullptr;
  cluster::EngineOptions o;
  o.servers = cfg.cluster;
  o.node_name = cfg.node_name;
  if (o.node_name.empty()) {
    char host[256] = "";
    ::gethostname(host, sizeof host - 1);
    o.node_name = host[0] ? host : "hydrant";
  }
  o.replicas = cfg.cluster_replicas;
  o.prefix = cfg.cluster_prefix;
  o.creds_file = cfg.cluster_creds;
  o.ca_file = cfg.cluster_ca;
  o.history_max_age_s = cfg.history_max_age;
  o.history_max_bytes = cfg.history_max_bytes;
  try {
    auto engine = cluster::Engine::start(o);
    log::info("event=cluster-ready {} scope=\"exchange messages through the engine; history, "
              "sessions and retained state on this node\"", engine->describe());
    return engine;
  } catch (const cluster::EngineError& e) {
    throw config::ConfigError(e.what());
  }
}

// The TCP workers, the broker's first hosts (persistent sessions restored from the log go to
// them), one per thread.
std::vector<net::Worker*> add_workers(core::Broker& broker, const core::BrokerOptions& opts) {
  std::vector<net::Worker*> workers;
  for (uint32_t i = 0; i < opts.threads; ++i) {
    auto worker = std::make_unique<net::Worker>(broker, i, opts.limits);
    workers.push_back(worker.get());
    broker.add_host(std::move(worker));
  }
  return workers;
}

// Set at SIGTERM/SIGINT, before the hosts stop: /readyz answers 503 from then on.
std::atomic<bool> stop_requested{false};

// A listener that could not bind stops the start (exit 2) with the reason and what to change.
[[noreturn]] void cannot_listen(const std::runtime_error& e, std::string_view keys) {
  throw config::ConfigError(fmt::format("{}: change {} (or stop the process that has the port)", e.what(), keys));
}

// Creates the WebSocket bridge (HTTP listeners, viewer, API) as the broker's next session host,
// run on `loop_host`'s loop (the last worker: worker 0 also publishes $SYS).
bridge::WebSocketBridge* add_bridge(const config::Config& cfg, const core::BrokerOptions& opts,
                                    core::Broker& broker, net::Worker& loop_host,
                                    const std::string& admin_token, RuntimeFile& runtime,
                                    cluster::ExchangeSync* declared) {
  auto options = bridge_options_from(cfg);
  api::ApiSources sources;
  sources.info.version = kVersion;
  sources.info.started = std::chrono::system_clock::now();
  sources.info.threads = opts.threads;
  for (const auto& ep : cfg.mqtt) sources.info.listeners.push_back({"mqtt", ep.to_string()});
  for (const auto& ep : cfg.mqtts) sources.info.listeners.push_back({"mqtts", ep.to_string()});
  for (const auto& ep : cfg.http) sources.info.listeners.push_back({"http", ep.to_string()});
  for (const auto& ep : cfg.https) sources.info.listeners.push_back({"https", ep.to_string()});
  sources.stats = [&broker] { return broker.snapshot(); };
  sources.activity = [&broker] { return broker.activity(); };
  sources.registered_exchanges = [&broker] { return broker.exchanges().list(); };
  sources.cache = std::make_shared<api::ResponseCache>();
  const api::AdminSources admin = admin_sources(cfg, broker, admin_token, runtime, declared);
  const store::ExchangeLog* history = broker.store();
  sources.store_problem = [history] { return history ? history->problem() : std::string(); };
  sources.shutting_down = [] { return stop_requested.load(); };
  sources.queues = [&broker] { return broker.queues(); };
  if (auto* local = dynamic_cast<const store::MessageStore*>(history)) {  // a single node
    sources.message_log = [local] {
      return api::MessageLogFigures{local->segment_log().metrics(), local->epoch()};
    };
  }
  if (auto* cluster_log = dynamic_cast<const cluster::ClusterStore*>(history)) {
    sources.info.node = cluster_log->node_name();
    sources.cluster = [cluster_log] { return cluster_log->describe_json(); };
    sources.cluster_metrics = [cluster_log] { return cluster_log->prometheus(); };
  }
  options.api = [sources, admin, history](const bridge::ApiRequest& q) -> std::optional<bridge::HttpAnswer> {
    auto r = api::handle_admin({q.method, q.path, q.query, q.authorization, q.body, q.peer}, admin);
    if (!r) r = api::handle_history({q.method, q.path, q.query}, history);
    if (!r) r = api::handle_api({q.method, q.path, q.query}, sources, std::chrono::system_clock::now());
    if (!r) return std::nullopt;
    return bridge::HttpAnswer{r->status, std::move(r->content_type), std::move(r->body),
                              std::move(r->headers)};
  };
  std::unique_ptr<bridge::WebSocketBridge> bridge;
  try {
    bridge = std::make_unique<bridge::WebSocketBridge>(broker, broker.host_count(), opts.limits, options);
  } catch (const std::runtime_error& e) {
    cannot_listen(e, "--http or --https (keys http, https)");
  }
  for (size_t i = 0; i < options.listeners.size(); ++i) {
    const auto& l = options.listeners[i];
    log::info("event=listening proto={} address={} port={}", l.tls ? "https" : "http", l.host,
              bridge->ports()[i]);
  }
  log::info("event=viewer root=\"{}\"", options.web_root);
  auto* raw = bridge.get();
  broker.add_host(std::move(bridge));
  loop_host.host_guest(*raw);
  return raw;
}

// Workers inherit this mask; only the main thread takes the signals, synchronously (signalfd).
sigset_t block_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  signal(SIGCHLD, SIG_IGN);  // notify commands are reaped by the kernel
  return signals;
}

core::BrokerOptions broker_options(const config::Config& cfg, std::string& admin_token,
                                   const cluster::Engine* engine) {
  core::BrokerOptions opts;
  opts.threads = cfg.threads ? cfg.threads : std::max(1u, std::thread::hardware_concurrency());
  opts.limits = limits_from(cfg);
  opts.sys_interval = cfg.sys_interval;
  opts.max_connections = cfg.max_connections;
  opts.version = kVersion;
  opts.access = load_access(cfg, admin_token);
  opts.notify_command = cfg.notify_command;
  opts.store = open_store(cfg);
  if (engine) {
    opts.store = std::make_shared<cluster::ClusterStore>(*engine, std::move(opts.store),
                                                         cfg.cluster_ack_timeout * 1000, cfg.cluster_window,
                                                         cfg.cluster_history_rate);
  }
  return opts;
}

// The MQTT and MQTTS listeners, one socket per worker each. MQTT last: once a client can
// connect, every other listener exists too.
void listen_mqtt(const config::Config& cfg, std::span<net::Worker* const> workers,
                 const std::shared_ptr<tls::ContextHolder>& tls_contexts) {
  if (!cfg.mqtts.empty()) {
    for (auto* w : workers) w->set_tls(tls_contexts);
    for (const auto& ep : cfg.mqtts) {
      uint16_t port = 0;
      try {
        port = net::listen_on(workers, {ep.host, ep.port}, /*tls=*/true);
      } catch (const std::runtime_error& e) {
        cannot_listen(e, "--mqtts (key mqtts)");
      }
      log::info("event=listening proto=mqtts address={} port={}", ep.host, port);
    }
  }
  for (const auto& ep : cfg.mqtt) {
    uint16_t port = 0;
    try {
      port = net::listen_on(workers, {ep.host, ep.port});
    } catch (const std::runtime_error& e) {
      cannot_listen(e, "--mqtt (key mqtt)");
    }
    log::info("event=listening proto=mqtt address={} port={}", ep.host, port);
  }
}

// Where `hydrant queue list` and friends find this broker's admin API.
void publish_runtime(const config::Config& cfg, const bridge::WebSocketBridge* bridge_host,
                     core::Broker& broker, RuntimeFile& runtime) {
  std::vector<std::string> http_listeners;
  for (size_t i = 0; bridge_host && i < cfg.http.size(); ++i) {
    http_listeners.push_back(config::Endpoint{cfg.http[i].host, bridge_host->ports()[i]}.to_string());
  }
  runtime.set_http(std::move(http_listeners));
  runtime.write(broker.access().users()->serial);
}

// An inotify descriptor on the data directory, for users-file changes; -1 without one (the
// directory vanished, or no inotify instance is left): changes are then read on SIGHUP only,
// worth an error line, not worth stopping the broker.
int watch_users_file(const config::Config& cfg) {
  const int watch_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (watch_fd < 0 ||
      inotify_add_watch(watch_fd, cfg.data_dir.c_str(), IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
    log::error("event=users-watch-failed dir=\"{}\" error=\"{}\" note=\"changes to the users "
               "file are read on SIGHUP only\"", cfg.data_dir, strerror(errno));
  }
  return watch_fd;
}

// Reads what the watch reported; true when the users file was replaced or rewritten.
bool users_file_changed(int watch_fd) {
  alignas(inotify_event) char buf[4096];
  bool changed = false;
  for (ssize_t n; (n = read(watch_fd, buf, sizeof buf)) > 0;) {
    for (char* p = buf; p < buf + n;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(p);
      if (ev->len && std::string_view(ev->name) == auth::kUsersFile) changed = true;
      p += sizeof(inotify_event) + ev->len;
    }
  }
  return changed;
}

// What the main thread does while the broker runs: the once-a-second upkeep, users-file
// changes, and signals. Returns at SIGTERM or SIGINT.
struct Running {
  const config::CommandLine& cli;
  config::Config& cfg;
  core::Broker& broker;
  tls::ContextHolder* tls_contexts;
  bridge::WebSocketBridge* bridge_host;
  RuntimeFile& runtime;

  void serve(const sigset_t& signals) {
    const int signal_fd = signalfd(-1, &signals, SFD_CLOEXEC);
    if (signal_fd < 0) throw std::runtime_error(fmt::format("signalfd: {}", strerror(errno)));
    const int watch_fd = watch_users_file(cfg);
    auto next_second = std::chrono::steady_clock::now();
    for (bool running = true; running;) {
      pollfd fds[2] = {{signal_fd, POLLIN, 0}, {watch_fd, POLLIN, 0}};
      const auto now = std::chrono::steady_clock::now();
      if (now >= next_second) {
        broker.on_second();  // the store's retention, snapshots and checkpoints
        next_second = now + std::chrono::seconds(1);
      }
      const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_second - now);
      if (poll(fds, 2, static_cast<int>(wait.count()) + 1) < 0) continue;
      if ((fds[1].revents & POLLIN) && users_file_changed(watch_fd)) reload_users(broker, runtime);
      if (fds[0].revents & POLLIN) running = on_signal(signal_fd);
    }
    ::close(signal_fd);
    if (watch_fd >= 0) ::close(watch_fd);
  }

  // False when the signal stops the broker.
  bool on_signal(int signal_fd) {
    signalfd_siginfo info{};
    if (read(signal_fd, &info, sizeof info) != sizeof info) return true;
    if (info.ssi_signo == SIGHUP) {
      reload(cli, cfg, broker, tls_contexts, bridge_host);
      reload_users(broker, runtime);
      return true;
    }
    log::info("event=stopping signal={}", strsignal(static_cast<int>(info.ssi_signo)));
    stop_requested = true;
    return false;
  }
};

int run(int argc, char** argv) {
  if (admin::is_admin_command(argc, argv)) return admin::run_admin_command(argc, argv);
  const auto cli = config::parse_command_line(argc, argv);
  if (cli.help) {
    std::fputs(config::help_text().c_str(), stdout);
    return 0;
  }
  if (cli.version) {
    std::printf("hydrant %s\n", kVersion);
    return 0;
  }
  auto cfg = load_config(cli);
  log::set_level(cfg.log_level);
  const int lock_fd = lock_data_dir(cfg.data_dir);
  const sigset_t signals = block_signals();
  const std::unique_ptr<cluster::Engine> engine = start_cluster(cfg);
  // Before the broker loads the users file: merged with the cluster's users.
  const std::unique_ptr<cluster::UserSync> cluster_users = sync_users(cfg, engine.get());

  std::string admin_token;
  const core::BrokerOptions opts = broker_options(cfg, admin_token, engine.get());
  auto* cluster_log = dynamic_cast<cluster::ClusterStore*>(opts.store.get());
  RuntimeFile runtime(cfg.data_dir);
  core::Broker broker(opts);
  const std::vector<net::Worker*> workers = add_workers(broker, opts);
  broker.router().set_retained_limits(cfg.max_retained_per_user, cfg.max_retained_total);
  broker.router().set_subscription_limits(cfg.max_subscriptions_per_user, cfg.max_subscriptions_total);
  broker.restore_from_store();
  try {
    const size_t declared = admin::load_declared_exchanges(cfg.data_dir, broker.exchanges());
    if (declared) log::info("event=exchanges-loaded declared={}", declared);
    if (const size_t kept = broker.recover_exchanges()) log::info("event=exchanges-recovered from_history={}", kept);
  } catch (const std::runtime_error& e) {
    throw config::ConfigError(e.what());
  }
  const std::unique_ptr<cluster::ExchangeSync> declared = share_declared_exchanges(cfg, engine.get(), broker);
  // TLS first: a certificate that does not load stops start-up with its own message.
  std::shared_ptr<tls::ContextHolder> tls_contexts = load_tls(cfg);
  bridge::WebSocketBridge* bridge_host = nullptr;
  if (!cfg.http.empty() || !cfg.https.empty()) {
    bridge_host = add_bridge(cfg, opts, broker, *workers.back(), admin_token, runtime, declared.get());
  }
  listen_mqtt(cfg, workers, tls_contexts);
  broker.start();
  // From here on a failing step must stop the threads before the broker is destroyed, or
  // std::thread's destructor aborts the process ("terminate called") instead of the error
  // reaching main() and its exit status 2.
  struct StopOnError {
    core::Broker& broker;
    cluster::ClusterStore* cluster_log;
    bool armed = true;
    ~StopOnError() {
      if (!armed) return;
      if (cluster_log) cluster_log->stop_delivery();
      broker.stop();
    }
  } stop_on_error{broker, cluster_log};
  if (cluster_log) {
    try {
      // A SIGTERM or SIGINT while the consumer is being set up ends the wait (it stays
      // pending, so serve() then stops the broker as usual).
      auto stop_asked = [] {
        sigset_t pending;
        sigpending(&pending);
        return sigismember(&pending, SIGTERM) == 1 || sigismember(&pending, SIGINT) == 1;
      };
      cluster_log->start_delivery(
          [&broker](std::vector<cluster::ClusterStore::Delivered> batch) {
            broker.route_from_log(std::move(batch));
          },
          stop_asked);
      // A session another node takes over is given up here (closed 0x8E if connected).
      // The sessions of a node that died are adopted (their wills published) by one survivor.
      cluster_log->start_sessions(
          [&broker](const std::string& client_id) { broker.give_up_session(client_id); },
          [&broker](const std::string& client_id, store::StoredSession session) {
            broker.adopt_session(client_id, std::move(session));
          });
    } catch (const cluster::EngineError& e) {
      throw config::ConfigError(e.what());
    }
  }
  // Other nodes' user changes apply here from now on; stopped before the broker (below, or
  // on an error before stop_on_error).
  ClusterUsersWatch users_watch(cluster_users.get(), broker, runtime);
  publish_runtime(cfg, bridge_host, broker, runtime);
  log::info("event=started version={} threads={} open={} config=\"{}\"", kVersion, opts.threads,
            cfg.open, config::describe(cfg));

  Running{cli, cfg, broker, tls_contexts.get(), bridge_host, runtime}.serve(signals);
  stop_on_error.armed = false;
  users_watch.stop();
  if (cluster_log) cluster_log->stop_delivery();  // no message reaches a stopped host
  broker.stop();
  runtime.remove();
  ::close(lock_fd);
  log::info("event=stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hydrant: %s\n", e.what());
    return 2;
  }
}
