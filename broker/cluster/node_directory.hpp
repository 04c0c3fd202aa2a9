// The nodes of the cluster, as the engine's nodes bucket shows them: each node writes its
// heartbeat there once a second (one key per node) and reads the others'. A node whose last
// heartbeat is older than kDeadAfterMs is dead: reported once, so that a surviving node takes
// over its sessions and publishes their wills (session_directory.hpp). A node that stops
// cleanly removes its key: it closed its connections itself.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cluster/bucket_watch.hpp"
#include "cluster/engine.hpp"

namespace hydrant::cluster {

struct NodeSeen {
  std::string name;
  int64_t last_heartbeat_ms = 0;  // the engine's time of its last heartbeat
  int64_t started_ms = 0;
  bool alive = true;
};

class NodeDirectory {
 public:
  static constexpr int64_t kHeartbeatMs = 1000;
  static constexpr int64_t kDeadAfterMs = 5000;
  using Died = std::function<void(const std::string& node)>;

  explicit NodeDirectory(const Engine& engine);
  ~NodeDirectory();  // stop()

  void start(Died died);
  // Removes this node's heartbeat (a clean stop) and ends the thread.
  void stop();
  // Every node seen, this one included, by name. Thread-safe.
  std::vector<NodeSeen> nodes() const;

 private:
  void loop();
  void beat(int64_t now_ms);
  void on_change(const BucketChange& change);
  // Reports the nodes whose heartbeat stopped (once each).
  void judge(int64_t now_ms);

  const Engine& engine_;
  __kvStore* const bucket_;
  const std::string key_;
  const int64_t started_ms_;
  Died died_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::map<std::string, NodeSeen> seen_;  // by name, from the bucket's changes
  std::thread thread_;
  std::unique_ptr<BucketWatch> watch_;
};

}  // namespace hydrant::cluster
