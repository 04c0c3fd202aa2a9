// The access model's state for the hydrant process (main.cpp's helpers): the secrets and users
// file loaded at start-up, their reload, <data>/runtime.json, and what the admin API acts on.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "api/admin_api.hpp"
#include "auth/access_control.hpp"
#include "cluster/engine.hpp"
#include "cluster/exchange_sync.hpp"
#include "cluster/user_sync.hpp"
#include "config/config.hpp"
#include "core/broker.hpp"

namespace hydrant {

// <data>/runtime.json: where subcommands find this broker's admin API, and which users file
// serial it applies. Written from the main thread and the bridge's (admin API), hence the lock.
class RuntimeFile {
 public:
  explicit RuntimeFile(std::string data_dir) : data_dir_(std::move(data_dir)) {}
  void set_http(std::vector<std::string> http);
  void write(uint64_t users_serial);
  void remove();

 private:
  std::mutex mutex_;
  std::string data_dir_;
  std::vector<std::string> http_;
};

// The users file, the signing key of signed tokens and the admin token, created on first start
// (mode 0600). A users file that does not load stops start-up: the broker never runs with rules
// it could not read. Throws config::ConfigError.
std::shared_ptr<auth::AccessControl> load_access(const config::Config& c, std::string& admin_token);

// The users file changed (a subcommand or the admin API wrote it): load it and close the
// connections whose credentials went away. A file that does not load keeps the running table.
// In a cluster, while a ClusterUsersWatch lives, what changed also goes to the engine's users
// bucket. Thread-safe (the main thread on inotify, the bridge thread after an admin API change,
// the cluster's users watch after another node's change).
void reload_users(core::Broker& broker, RuntimeFile& runtime);

// In a cluster (an engine given): the users file merged with the engine's users bucket
// (cluster/user_sync.hpp), before the broker loads the file. Null without an engine. Throws
// config::ConfigError.
std::unique_ptr<cluster::UserSync> sync_users(const config::Config& c, const cluster::Engine* engine);

// While it lives, with a UserSync: other nodes' user changes are written into the users file and
// applied (reload_users), and reload_users sends this node's changes to the bucket. Made once the
// broker runs; stopped before the broker stops (its thread reloads through the broker). Without
// a UserSync it does nothing.
class ClusterUsersWatch {
 public:
  ClusterUsersWatch(cluster::UserSync* sync, core::Broker& broker, RuntimeFile& runtime);
  ~ClusterUsersWatch() { stop(); }
  ClusterUsersWatch(const ClusterUsersWatch&) = delete;
  ClusterUsersWatch& operator=(const ClusterUsersWatch&) = delete;
  void stop();

 private:
  cluster::UserSync* sync_;
};

// In a cluster (`engine` set), the declared exchanges are shared: the engine's declared bucket's
// are declared here (and saved in the file), this node's own that the bucket lacks are put there
// (the first node seeds it), and from now on other nodes' declarations and deletions apply here.
// Null on a single node. Destroyed before the broker.
std::unique_ptr<cluster::ExchangeSync> share_declared_exchanges(const config::Config& cfg,
                                                                const cluster::Engine* engine,
                                                                core::Broker& broker);

// What the admin API reads and changes: the users file (changes apply before it answers), the
// broker's queues, connections and exchange registry (declared exchanges kept on disk, and in a
// cluster put into the engine's bucket through `declared`, when not null).
api::AdminSources admin_sources(const config::Config& cfg, core::Broker& broker,
                                const std::string& admin_token, RuntimeFile& runtime,
                                cluster::ExchangeSync* declared);

}  // namespace hydrant
