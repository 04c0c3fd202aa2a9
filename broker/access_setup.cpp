// The access model's state for the hydrant process; see access_setup.hpp.
#include "access_setup.hpp"

#include <set>

#include "admin/declared_exchanges.hpp"
#include "admin/remote.hpp"
#include "util/log.hpp"
#include "util/wall_clock.hpp"

namespace hydrant {

void RuntimeFile::set_http(std::vector<std::string> http) {
  std::lock_guard lock(mutex_);
  http_ = std::move(http);
}

void RuntimeFile::write(uint64_t users_serial) {
  std::lock_guard lock(mutex_);
  try {
    admin::write_runtime_file(data_dir_, http_, users_serial);
  } catch (const std::runtime_error& e) {
    log::warn("event=runtime-file-failed error=\"{}\"", e.what());
  }
}

void RuntimeFile::remove() { admin::remove_runtime_file(data_dir_); }

namespace {

std::mutex reload_mutex;                       // one reload at a time
cluster::UserSync* cluster_users = nullptr;    // while a ClusterUsersWatch lives; under reload_mutex

}  // namespace

void reload_users(core::Broker& broker, RuntimeFile& runtime) {
  std::lock_guard lock(reload_mutex);
  std::optional<std::string> error;
  auto load = [&]() -> std::shared_ptr<const auth::UserTable> {
    error = broker.access().reload_users();
    return error ? nullptr : broker.access().users();
  };
  if (cluster_users) {
    cluster_users->publish_local(load);  // then what changed goes to the engine
  } else {
    load();
  }
  if (error) {
    log::error("event=users-reload-refused error=\"{}\" (keeping the running users)", *error);
    return;
  }
  const auto users = broker.access().users();
  log::info("event=users-reloaded users={} serial={}", users->users.size(), users->serial);
  broker.revalidate_credentials();
  runtime.write(users->serial);
}

std::unique_ptr<cluster::UserSync> sync_users(const config::Config& c, const cluster::Engine* engine) {
  if (!engine) return nullptr;
  try {
    auto sync = std::make_unique<cluster::UserSync>(*engine, c.data_dir);
    log::info("event=cluster-users-merged {}", sync->merge_report());
    return sync;
  } catch (const cluster::EngineError& e) {
    throw config::ConfigError(e.what());
  } catch (const auth::UserDbError& e) {
    throw config::ConfigError(e.what());
  }
}

ClusterUsersWatch::ClusterUsersWatch(cluster::UserSync* sync, core::Broker& broker, RuntimeFile& runtime)
    : sync_(sync) {
  if (!sync_) return;
  {
    std::lock_guard lock(reload_mutex);
    cluster_users = sync_;
  }
  sync_->start_watching([&broker, &runtime] { reload_users(broker, runtime); });
  // A change made on this node since the start's merge (none was sent to the bucket yet).
  reload_users(broker, runtime);
}

void ClusterUsersWatch::stop() {
  if (!sync_) return;
  sync_->stop_watching();  // its thread may be reloading: done first
  std::lock_guard lock(reload_mutex);
  cluster_users = nullptr;
  sync_ = nullptr;
}

std::shared_ptr<auth::AccessControl> load_access(const config::Config& c, std::string& admin_token) {
  auth::AccessOptions o;
  o.open = c.open;
  o.anon_max_connections_per_ip = c.anon_max_connections_per_ip;
  o.auth_failures.burst = c.auth_failure_burst;
  o.auth_failures.refill_seconds = c.auth_failure_refill_s;
  o.users_file = auth::users_path(c.data_dir);
  o.signed_token_max_lifetime = int64_t{c.signed_token_max_hours} * 3600;
  try {
    bool created = false;
    const std::string secret_file =
        c.token_secret_file.empty() ? c.data_dir + "/token-secret" : c.token_secret_file;
    const std::string secret = auth::read_or_create_secret(secret_file, 32, created);
    o.token_secret.assign(secret.begin(), secret.end());
    if (created) log::info("event=token-secret-created path={}", secret_file);
    const std::string admin_file = c.data_dir + "/admin-token";
    admin_token = auth::read_or_create_secret(admin_file, 32, created);
    if (created) log::info("event=admin-token-created path={} (bearer token of /api/v1/admin/)", admin_file);
  } catch (const auth::UserDbError& e) {
    throw config::ConfigError(e.what());
  }
  auto access = std::make_shared<auth::AccessControl>(std::move(o));
  if (auto error = access->reload_users()) throw config::ConfigError(*error);
  log::info("event=access open={} users={}", c.open, access->users()->users.size());
  if (c.open) {
    log::warn("event=open-mode note=\"--open turns off every access rule: anyone may connect without "
              "credentials, publish to any topic and keep sessions under any client id; for "
              "development and tests only\"");
  }
  return access;
}

std::unique_ptr<cluster::ExchangeSync> share_declared_exchanges(const config::Config& cfg,
                                                                const cluster::Engine* engine,
                                                                core::Broker& broker) {
  if (!engine) return nullptr;
  auto sync = std::make_unique<cluster::ExchangeSync>(*engine);
  std::vector<std::pair<std::string, std::string>> in_bucket;
  try {
    in_bucket = sync->load();
  } catch (const cluster::EngineError& e) {
    throw config::ConfigError(e.what());
  }
  const std::set<std::pair<std::string, std::string>> known(in_bucket.begin(), in_bucket.end());
  for (const auto& e : broker.exchanges().list()) {
    if (e.declared && !known.count({e.owner, e.name})) sync->declared(e.owner, e.name);
  }
  size_t added = 0;
  for (const auto& [owner, name] : in_bucket) added += broker.exchanges().declare(owner, name, util::unix_seconds());
  if (added) admin::save_declared_exchanges(cfg.data_dir, broker.exchanges());
  log::info("event=cluster-exchanges-merged bucket={} declared_here={}", engine->layout().declared_bucket, added);
  sync->start([&broker, data_dir = cfg.data_dir](const std::string& owner, const std::string& name, bool declared) {
    // Idempotent: this node's own changes come back too, and change nothing.
    const bool changed = declared ? broker.exchanges().declare(owner, name, util::unix_seconds())
                                  : broker.delete_exchange(owner, name);
    if (!changed) return;
    log::info("event=cluster-exchange-changed exchange=\"exchange/{}/{}\" action={}", owner, name,
              declared ? "declared" : "deleted");
    try {
      admin::save_declared_exchanges(data_dir, broker.exchanges());
    } catch (const std::runtime_error& e) {
      log::error("event=exchanges-save-failed error=\"{}\"", e.what());
    }
  });
  return sync;
}

api::AdminSources admin_sources(const config::Config& cfg, core::Broker& broker,
                                const std::string& admin_token, RuntimeFile& runtime,
                                cluster::ExchangeSync* declared) {
  api::AdminSources admin;
  admin.admin_token_hash = auth::hash_token(admin_token);
  // A change through the API applies before the API answers.
  admin.store = admin::UserStore{cfg.data_dir, cfg.reserved_names, "",
                                 [&broker, &runtime](uint64_t) { reload_users(broker, runtime); }};
  admin.queues = [&broker] { return broker.queues(); };
  admin.connections = [&broker](uint32_t& anonymous) {
    return broker.connections_per_user(anonymous);
  };
  admin.end_session = [&broker](const std::string& id) { return broker.end_session(id); };
  admin.activity = [&broker] { return broker.activity(); };
  admin.exchanges = [&broker] { return broker.exchanges().list(); };
  const std::string data_dir = cfg.data_dir;
  admin.declare_exchange = [&broker, data_dir, declared](const std::string& owner, const std::string& name) {
    if (!broker.exchanges().declare(owner, name, util::unix_seconds())) return false;
    admin::save_declared_exchanges(data_dir, broker.exchanges());
    if (declared) declared->declared(owner, name);
    return true;
  };
  admin.delete_exchange = [&broker, data_dir, declared](const std::string& owner, const std::string& name) {
    if (!broker.delete_exchange(owner, name)) return false;
    admin::save_declared_exchanges(data_dir, broker.exchanges());
    if (declared) declared->deleted(owner, name);
    return true;
  };
  return admin;
}

}  // namespace hydrant
