// Publisher: the Paho connection, the buffer and the sender thread. See publisher.hpp.
#include "publisher.hpp"

#include <mqtt/async_client.h>

#include <cstdio>

#include "input.hpp"
#include "util/log.hpp"

namespace hydrant::publishers {

namespace {

constexpr int kQuotaExceeded = 0x97;  // hydrant: its store cannot write now; try again

}  // namespace

// Paho's callbacks, on Paho's threads: they only touch the Publisher under its mutex.
class Publisher::Callbacks : public virtual mqtt::callback, public virtual mqtt::iaction_listener {
 public:
  explicit Callbacks(Publisher& p) : p_(p) {}
  void connected(const std::string&) override { p_.on_connected(); }
  void connection_lost(const std::string&) override { p_.on_connection_lost(); }
  void on_success(const mqtt::token& tok) override {
    const auto rc = static_cast<int>(tok.get_reason_code());
    const auto id = reinterpret_cast<uintptr_t>(tok.get_user_context());
    if (rc >= 0x80) return refused(id, rc);
    p_.complete(id, true, "");
  }
  void on_failure(const mqtt::token& tok) override {
    const auto rc = static_cast<int>(tok.get_reason_code());
    const auto id = reinterpret_cast<uintptr_t>(tok.get_user_context());
    if (rc >= 0x80) return refused(id, rc);
    p_.requeue(id, true);  // lost with the connection: sent again after the reconnect
  }

 private:
  void refused(uint64_t id, int rc) {
    if (rc == kQuotaExceeded) {
      log::warn("event=publish-deferred reason=0x97 note=\"the broker cannot store it now; "
                "trying again in a second\"");
      std::lock_guard lock(p_.mutex_);
      p_.retry_after_ = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    } else {
      p_.complete(id, false, fmt::format("refused by the broker: reason 0x{:02x} ({})", rc,
                                         mqtt::exception::reason_code_str(rc)));
      return;
    }
    p_.requeue(id, true);
  }
  Publisher& p_;
};

Publisher::Publisher(CommonOptions options, std::string adapter)
    : options_(std::move(options)), adapter_(std::move(adapter)),
      next_heartbeat_(std::chrono::steady_clock::now() + options_.heartbeat) {}

Publisher::~Publisher() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (sender_.joinable()) sender_.join();
}

bool Publisher::start(std::chrono::seconds limit) {
  if (options_.dry_run) return true;
  const std::string uri = options_.broker_uri();
  client_ = std::make_unique<mqtt::async_client>(uri, options_.client_id + "-" + adapter_,
                                                 mqtt::create_options(MQTTVERSION_5));
  callbacks_ = std::make_unique<Callbacks>(*this);
  client_->set_callback(*callbacks_);
  // A broker that closes cleanly (MQTT 5 DISCONNECT, e.g. on its shutdown) is reported here,
  // not through connection_lost().
  client_->set_disconnected_handler(
      [this](const mqtt::properties&, mqtt::ReasonCode) { on_connection_lost(); });
  auto opts = mqtt::connect_options_builder()
                  .mqtt_version(MQTTVERSION_5)
                  .clean_start(true)
                  .user_name(options_.client_id)
                  .password(options_.token)
                  .keep_alive_interval(std::chrono::seconds(30))
                  .connect_timeout(limit.count() ? std::min(limit, std::chrono::seconds(30)) : std::chrono::seconds(30))
                  .automatic_reconnect(std::chrono::seconds(1), std::chrono::seconds(30))
                  .finalize();
  if (options_.tls) {
    auto ssl = mqtt::ssl_options_builder()
                   .enable_server_cert_auth(!options_.insecure)
                   .verify(!options_.insecure)  // the host name too
                   .error_handler([](const std::string& what) { log::warn("event=tls-error error=\"{}\"", what); })
                   .finalize();
    if (!options_.cafile.empty()) ssl.set_trust_store(options_.cafile);
    opts.set_ssl(std::move(ssl));
  }
  using clock = std::chrono::steady_clock;
  const auto deadline = limit.count() ? clock::now() + limit : clock::time_point::max();
  for (auto backoff = std::chrono::seconds(1);; backoff = std::min(backoff * 2, std::chrono::seconds(30))) {
    try {
      client_->connect(opts)->wait();
      break;
    } catch (const mqtt::exception& e) {
      // Paho reports a refused MQTT 5 CONNACK by its return code, the reason code being 0.
      const int rc = e.get_reason_code() ? static_cast<int>(e.get_reason_code()) : e.get_return_code();
      if (rc == 0x86 || rc == 0x87 || rc == 0x85 || rc == 0x8C) {
        throw RefusedCredentials(fmt::format("the broker at {} refused client {}: reason 0x{:02x} ({})",
                                             uri, options_.client_id, rc, mqtt::exception::reason_code_str(rc)));
      }
      if (clock::now() >= deadline) {
        throw ConnectTimedOut(fmt::format("no broker at {} within --connect-timeout {}s ({}); nothing was published",
                                          uri, limit.count(), e.what()));
      }
      log::warn("event=connect-failed broker={} error=\"{}\" retry_in_s={}", uri, e.what(), backoff.count());
      for (auto until = std::min(clock::now() + backoff, deadline); clock::now() < until;) {
        if (g_stop_requested.load()) return false;  // stopped before the broker was reachable
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
  }
  log::info("event=connected broker={} client={} exchange={}", uri, options_.client_id,
            options_.exchange_topic());
  on_connected();
  sender_ = std::thread([this] { run_sender(); });
  return true;
}

bool Publisher::publish(std::string topic, std::string payload, Done done) {
  if (options_.dry_run) {
    std::fprintf(stdout, "%s\t%s\n", topic.c_str(), payload.c_str());
    std::fflush(stdout);
    if (done) done(true, "");
    return true;
  }
  std::unique_lock lock(mutex_);
  while (!stopping_ && entries_.size() >= options_.buffer) {
    if (g_stop_requested.load()) return false;
    settled_.wait_for(lock, std::chrono::milliseconds(100));
  }
  if (stopping_) return false;
  const uint64_t id = next_id_++;
  entries_.emplace(id, Entry{std::move(topic), std::move(payload), std::move(done)});
  pending_.insert(id);
  ++stats_.queued;
  lock.unlock();
  wake_.notify_one();
  return true;
}

void Publisher::run_sender() {
  std::unique_lock lock(mutex_);
  while (!stopping_ || (!pending_.empty() && connected_)) {
    heartbeat_if_due();
    const auto now = std::chrono::steady_clock::now();
    const bool ready = connected_ && !pending_.empty() && in_flight_ < options_.window && now >= retry_after_;
    if (!ready) {
      wake_.wait_for(lock, std::chrono::milliseconds(200));
      continue;
    }
    const uint64_t id = *pending_.begin();
    pending_.erase(pending_.begin());
    Entry& e = entries_.at(id);
    e.in_flight = true;
    ++in_flight_;
    auto msg = mqtt::make_message(e.topic, e.payload, 1, false);
    msg->set_properties(mqtt::properties{{mqtt::property::CONTENT_TYPE, std::string("application/json")}});
    lock.unlock();
    bool sent = true;
    try {
      client_->publish(msg, reinterpret_cast<void*>(static_cast<uintptr_t>(id)), *callbacks_);
    } catch (const mqtt::exception&) {
      sent = false;
      requeue(id, false);  // not connected at the moment: wait for the reconnect
    }
    lock.lock();
    if (!sent && !client_->is_connected()) connected_ = false;  // whatever Paho said or not
  }
}

void Publisher::heartbeat_if_due() {
  if (options_.heartbeat.count() == 0) return;
  const auto now = std::chrono::steady_clock::now();
  if (now < next_heartbeat_) return;
  next_heartbeat_ = now + options_.heartbeat;
  log::info("event=heartbeat adapter={} queued={} confirmed={} refused={} resent={} buffered={} connected={}",
            adapter_, stats_.queued, stats_.confirmed, stats_.refused, stats_.resent,
            entries_.size(), connected_);
}

void Publisher::complete(uint64_t id, bool ok, const std::string& why) {
  Done done;
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return;  // already confirmed (a re-send answered twice)
    if (it->second.in_flight) --in_flight_;
    pending_.erase(id);
    done = std::move(it->second.done);
    entries_.erase(it);
    ok ? ++stats_.confirmed : ++stats_.refused;
  }
  if (!ok) log::error("event=publish-refused adapter={} why=\"{}\"", adapter_, why);
  wake_.notify_one();
  settled_.notify_all();
  if (done) done(ok, why);
}

void Publisher::requeue(uint64_t id, bool resent) {
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(id);
    if (it == entries_.end() || !it->second.in_flight) return;
    it->second.in_flight = false;
    --in_flight_;
    pending_.insert(id);
    if (resent) ++stats_.resent;
  }
  wake_.notify_one();
}

void Publisher::on_connected() {
  {
    std::lock_guard lock(mutex_);
    if (!connected_) log::info("event=broker-connected adapter={} buffered={}", adapter_, entries_.size());
    connected_ = true;
  }
  wake_.notify_one();
}

void Publisher::on_connection_lost() {
  {
    std::lock_guard lock(mutex_);
    connected_ = false;
    // Whatever awaited a PUBACK is sent again once the connection is back.
    for (auto& [id, e] : entries_) {
      if (!e.in_flight) continue;
      e.in_flight = false;
      pending_.insert(id);
      ++stats_.resent;
    }
    in_flight_ = 0;
    log::warn("event=broker-lost adapter={} buffered={} note=\"reconnecting; messages are kept\"",
              adapter_, entries_.size());
  }
  wake_.notify_one();
}

size_t Publisher::flush(std::chrono::milliseconds timeout) {
  if (options_.dry_run) return 0;
  std::unique_lock lock(mutex_);
  settled_.wait_for(lock, timeout, [&] { return entries_.empty(); });
  return entries_.size();
}

size_t Publisher::stop() {
  const size_t left = flush(options_.flush_timeout);
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  settled_.notify_all();
  if (sender_.joinable()) sender_.join();
  if (client_) {
    try {
      if (client_->is_connected()) client_->disconnect()->wait_for(std::chrono::seconds(5));
    } catch (const mqtt::exception&) {
    }
  }
  const Stats s = stats();
  log::info("event=stopped adapter={} queued={} confirmed={} refused={} unconfirmed={}", adapter_,
            s.queued, s.confirmed, s.refused, left);
  return left;
}

Publisher::Stats Publisher::stats() const {
  std::lock_guard lock(mutex_);
  Stats s = stats_;
  s.buffered = entries_.size();
  s.connected = connected_;
  return s;
}

}  // namespace hydrant::publishers
