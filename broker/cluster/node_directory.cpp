// Heartbeats of the cluster's nodes in the engine's nodes bucket. See node_directory.hpp.
#include "cluster/node_directory.hpp"

#include <nats/nats.h>

#include <fmt/format.h>

#include "util/hex.hpp"
#include "util/log.hpp"
#include "util/wall_clock.hpp"

namespace hydrant::cluster {

NodeDirectory::NodeDirectory(const Engine& engine)
    : engine_(engine), bucket_(engine.bucket(engine.layout().nodes_bucket)),
      key_(util::to_hex(engine.options().node_name)), started_ms_(util::unix_ms()) {}

NodeDirectory::~NodeDirectory() { stop(); }

void NodeDirectory::start(Died died) {
  died_ = std::move(died);
  beat(util::unix_ms());  // others see this node from its start on
  watch_ = std::make_unique<BucketWatch>(engine_, engine_.layout().nodes_bucket, BucketWatch::From::LastOfEachKey,
                                         [this](const BucketChange& c) { on_change(c); });
  thread_ = std::thread([this] { loop(); });
}

void NodeDirectory::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || !thread_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  watch_.reset();
  if (natsConnection_Status(engine_.connection()) == NATS_CONN_STATUS_CONNECTED) {
    kvStore_Delete(bucket_, key_.c_str());
  }
}

std::vector<NodeSeen> NodeDirectory::nodes() const {
  std::lock_guard lock(mutex_);
  std::vector<NodeSeen> out;
  for (const auto& [name, node] : seen_) out.push_back(node);
  return out;
}

void NodeDirectory::loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    const int64_t now = util::unix_ms();
    beat(now);
    judge(now);
    lock.lock();
    wake_.wait_for(lock, std::chrono::milliseconds(kHeartbeatMs), [this] { return stopping_; });
  }
}

void NodeDirectory::beat(int64_t now_ms) {
  const std::string value = fmt::format("{{\"started_ms\":{},\"at_ms\":{}}}", started_ms_, now_ms);
  uint64_t revision = 0;
  kvStore_Put(&revision, bucket_, key_.c_str(), value.data(), static_cast<int>(value.size()));
}

void NodeDirectory::on_change(const BucketChange& change) {
  auto name = util::from_hex(change.key);
  if (!name) return;
  std::lock_guard lock(mutex_);
  if (change.deleted) {  // a clean stop
    seen_.erase(*name);
    return;
  }
  NodeSeen& n = seen_[*name];
  n.name = *name;
  n.last_heartbeat_ms = change.time_ms;
  if (auto at = change.value.find("\"started_ms\":"); at != std::string_view::npos) {
    n.started_ms = std::strtoll(std::string(change.value.substr(at + 13, 20)).c_str(), nullptr, 10);
  }
}

void NodeDirectory::judge(int64_t now_ms) {
  std::vector<std::string> died;
  {
    std::lock_guard lock(mutex_);
    // Only a node that sees its own heartbeat come back knows the others' are current: one cut
    // off from the engine must not take everybody for dead.
    auto me = seen_.find(engine_.options().node_name);
    const bool current = me != seen_.end() && now_ms - me->second.last_heartbeat_ms < 2 * kHeartbeatMs + 500;
    for (auto& [name, n] : seen_) {
      const bool alive = now_ms - n.last_heartbeat_ms < kDeadAfterMs;
      if (name != engine_.options().node_name && current && n.alive && !alive) died.push_back(name);
      if (current || alive) n.alive = alive;
    }
  }
  for (const auto& name : died) {
    log::warn("event=cluster-node-died node=\"{}\" note=\"no heartbeat for {} s: its sessions and "
              "wills are taken over\"", name, kDeadAfterMs / 1000);
    if (died_) died_(name);
  }
}

}  // namespace hydrant::cluster
