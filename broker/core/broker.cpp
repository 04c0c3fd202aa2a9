// Broker. See broker.hpp.
#include "core/broker.hpp"

#include <malloc.h>
#include <spawn.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <map>
#include <stdexcept>

#include <fmt/ranges.h>

#include "metrics/sys_topics.hpp"
#include "core/exchange_recovery.hpp"
#include "core/fd_budget.hpp"
#include "util/log.hpp"

namespace hydrant::core {

Broker::Broker(BrokerOptions options)
    : options_(std::move(options)), max_connections_(0), sys_interval_(options_.sys_interval) {
  set_max_connections(options_.max_connections);
  if (!options_.access) {
    options_.access = std::make_shared<auth::AccessControl>(auth::AccessOptions::open_mode());
  }
  started_ = fanout::Clock::now();
  next_sys_ = started_;
}

Broker::~Broker() = default;

void Broker::add_host(std::unique_ptr<SessionHost> host) {
  if (host->index() != host_count()) throw std::logic_error("session host added out of order");
  hosts_.push_back(std::move(host));
}

void Broker::start() {
  for (auto& h : hosts_) h->start();
}

void Broker::stop() {
  for (auto& h : hosts_) h->stop();
  for (auto& h : hosts_) h->join();
  // What was appended is written and synced while the hosts its completions post to still exist.
  if (options_.store) options_.store->flush();
}

void Broker::reconfigure(const session::Limits& limits, uint32_t sys_interval,
                         uint32_t max_connections) {
  set_max_connections(max_connections);
  sys_interval_.store(sys_interval);
  for (auto& h : hosts_) h->post(LimitsTask{limits});
}

std::vector<QueueSummary> Broker::queues() const {
  std::vector<QueueSummary> all;
  for (auto& h : hosts_) {
    auto dir = h->directory();
    std::move(dir.queues.begin(), dir.queues.end(), std::back_inserter(all));
  }
  std::sort(all.begin(), all.end(),
            [](const QueueSummary& a, const QueueSummary& b) { return a.client_id < b.client_id; });
  return all;
}

std::vector<std::pair<std::string, uint32_t>> Broker::connections_per_user(uint32_t& anonymous) const {
  std::map<std::string, uint32_t> merged;
  anonymous = 0;
  for (auto& h : hosts_) {
    const auto dir = h->directory();
    anonymous += dir.anonymous_connections;
    for (const auto& [user, n] : dir.connections_per_user) merged[user] += n;
  }
  return {merged.begin(), merged.end()};
}

bool Broker::end_session(const std::string& client_id) {
  const auto handle = registry_.find(client_id);
  if (!handle) return false;
  host(handle->worker.load()).post(EndSessionTask{handle->id});
  return true;
}

void Broker::give_up_session(const std::string& client_id) {
  const auto handle = registry_.find(client_id);
  if (!handle) return;
  SessionHost* host = hosts_[handle->worker.load()].get();
  host->post(CallTask{[host, id = handle->id] { host->give_up_session(id); }});
}

void Broker::adopt_session(const std::string& client_id, store::StoredSession stored) {
  const uint32_t homes = std::clamp<uint32_t>(options_.threads, 1, host_count());
  SessionHost* host = hosts_[std::hash<std::string>{}(client_id) % homes].get();
  host->post(CallTask{[host, client_id, stored = std::move(stored)] { host->adopt_session(client_id, stored); }});
}

void Broker::route_from_log(std::vector<std::pair<fanout::MessageRef, std::vector<std::string>>> batch) {
  SessionHost* host = hosts_.front().get();
  // std::function needs a copyable callable: the batch is shared, not copied.
  auto shared = std::make_shared<decltype(batch)>(std::move(batch));
  host->post(CallTask{[host, shared] {
    for (const auto& [msg, cc] : *shared) host->publish(msg, cc);
  }});
}

void Broker::notify_owner(const Notice& n) {
  if (options_.notify_command.empty()) return;
  const auto users = access().users();
  const auth::UserRecord* user = users->find(n.owner);
  const std::string emails = user ? fmt::format("{}", fmt::join(user->owners, ",")) : "";
  const char* argv[] = {options_.notify_command.c_str(), n.owner.c_str(), emails.c_str(),
                        n.kind.c_str(), n.text.c_str(), nullptr};
  // posix_spawn, not fork: no copy of a large broker's page tables. SIGCHLD is ignored in
  // main(), so finished commands are reaped by the kernel.
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0], nullptr, nullptr, const_cast<char**>(argv), environ);
  if (rc != 0) {
    log::error("event=notify-failed command=\"{}\" error=\"{}\"", options_.notify_command,
               std::strerror(rc));
  }
}

void Broker::revalidate_credentials() {
  for (auto& h : hosts_) h->post(RevalidateTask{});
}

void Broker::set_max_connections(uint32_t configured) {
  // Past the descriptor limit accept() fails instead of refusing: keep clients below it, with a
  // reserve for the log, the store and HTTP.
  const ConnectionCap cap = connection_cap(configured);
  if (cap.lowered) {
    log::warn("event=max-connections-lowered configured={} used={} fd_limit={} reserve={}",
              configured, cap.value, cap.fd_limit, cap.reserve);
  }
  if (cap.value != max_connections_.load()) {
    log::info("event=max-connections value={} fd_limit={} reserve={}{}", cap.value, cap.fd_limit,
              cap.reserve, configured == 0 ? " automatic=true" : "");
  }
  max_connections_.store(cap.value);
}

bool Broker::admit_connection() {
  const auto max = max_connections_.load(std::memory_order_relaxed);
  const auto now = connections_.fetch_add(1, std::memory_order_relaxed) + 1;
  if (max != 0 && now > max) {
    connections_.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  return true;
}

void Broker::release_connection() { connections_.fetch_sub(1, std::memory_order_relaxed); }

metrics::Snapshot Broker::snapshot() const {
  const auto now = fanout::Clock::now();
  metrics::Snapshot s;
  s.version = options_.version;
  s.uptime_seconds =
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(now - started_).count());
  for (auto& h : hosts_) {
    const auto& c = h->counters_view();
    s.clients_connected += c.clients_connected.get();
    s.connections_total += c.connections_total.get();
    s.messages_received += c.messages_received.get();
    s.messages_sent += c.messages_sent.get();
    s.messages_dropped += c.messages_dropped.get();
    s.bytes_received += c.bytes_received.get();
    s.bytes_sent += c.bytes_sent.get();
    s.auth_failures += c.auth_failures.get();
    s.publishes_refused += c.publishes_refused.get();
    s.payloads_over_soft_limit += c.payloads_over_soft_limit.get();
    metrics::add_by_transport(s, c);
  }
  s.clients_total = registry_.size();
  s.subscriptions = router_.subscription_count();
  s.retained = router_.retained_count();
  return s;
}

size_t Broker::recover_exchanges() {
  if (!options_.store || hosts_.empty()) return 0;
  return core::recover_exchanges(*options_.store, exchanges_, hosts_.front()->activity());
}

std::vector<metrics::PrefixStats> Broker::activity() const {
  const auto now = std::chrono::steady_clock::now();
  std::vector<std::vector<metrics::PrefixStats>> parts;
  for (auto& h : hosts_) parts.push_back(h->activity().snapshot(now));
  return metrics::TopicActivity::merge(parts);
}

void Broker::trim_memory(fanout::Clock::time_point now) {
  if (now < next_trim_ || released_.load(std::memory_order_relaxed) < kTrimAfter) return;
  next_trim_ = now + kTrimEvery;
  const size_t released = released_.exchange(0, std::memory_order_relaxed);
#if defined(__GLIBC__)
  const auto start = fanout::Clock::now();
  const int trimmed = malloc_trim(0);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(fanout::Clock::now() - start);
  log::info("event=memory-trimmed released_estimate_mb={} returned={} ms={}", released >> 20,
            trimmed != 0, took.count());
#else
  (void)released;
#endif
}

void Broker::on_main_tick(SessionHost& w, fanout::Clock::time_point now) {
  const uint32_t interval = sys_interval_.load(std::memory_order_relaxed);
  if (interval == 0 || now < next_sys_) return;
  next_sys_ = now + std::chrono::seconds(interval);

  const metrics::Snapshot s = snapshot();
  for (const auto& [topic, value] : metrics::sys_topics(s)) {
    w.publish(fanout::Message::create(topic, value, 0, true, {}, 0, now));
  }
}

}  // namespace hydrant::core
