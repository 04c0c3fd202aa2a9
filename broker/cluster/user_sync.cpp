// The cluster's users: the users file against the engine's users bucket. See user_sync.hpp.
#include "cluster/user_sync.hpp"

#include <nats/nats.h>

#include <algorithm>
#include <tuple>

#include <fmt/format.h>

#include "cluster/nats_error.hpp"
#include "util/hex.hpp"
#include "util/log.hpp"
#include "util/log_untrusted.hpp"

namespace hydrant::cluster {

namespace {

constexpr int64_t kNanosPerSecond = 1'000'000'000;

// Which of two records of one user is the later one: a user deleted and created again has the
// later `created`; a rotation raises the epoch and tokens_rotated.
bool newer(const auth::UserRecord& a, const auth::UserRecord& b) {
  return std::tie(a.created, a.epoch, a.tokens_rotated) > std::tie(b.created, b.epoch, b.tokens_rotated);
}

struct EntryHolder {
  kvEntry* e = nullptr;
  ~EntryHolder() {
    if (e) kvEntry_Destroy(e);
  }
};

}  // namespace

std::string user_key(std::string_view name) {
  std::string key;
  key.reserve(name.size());
  for (const char c : name) {
    const auto b = static_cast<unsigned char>(c);
    if ((b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') || b == '-') {
      key += c;
    } else {
      key += '_';
      key += util::to_hex(std::string_view(&c, 1));
    }
  }
  return key;
}

namespace {

// Puts a user's record into the bucket under its key; the bucket's revision in `revision`.
natsStatus put_user(kvStore* kv, const auth::UserRecord& u, uint64_t& revision) {
  const std::string key = user_key(u.name);
  const std::string value = auth::user_json(u);
  return kvStore_Put(&revision, kv, key.c_str(), value.data(), static_cast<int>(value.size()));
}

}  // namespace

UserMerge merge_users(const auth::UserTable& local, const BucketUsers& bucket) {
  UserMerge m;
  m.table.serial = local.serial;
  for (const auth::UserRecord& u : local.users) {
    const auto it = bucket.find(user_key(u.name));
    if (it == bucket.end()) {  // the bucket never had it: this file seeds the cluster
      m.to_put.push_back(u);
      m.table.put(u);
    } else if (const auto& b = it->second.record) {
      if (newer(u, *b)) {
        m.to_put.push_back(u);
        m.table.put(u);
      } else {
        if (*b != u) ++m.from_bucket;
        m.table.put(*b);
      }
    } else if (auth::signed_tokens_valid_from(u) > it->second.deleted_at) {
      m.to_put.push_back(u);  // created (or rotated) here after the deletion
      m.table.put(u);
    } else {
      m.dropped.push_back(u.name);  // deleted on another node while this one was away
    }
  }
  for (const auto& [key, b] : bucket) {
    if (b.record && !local.find(b.record->name)) {
      m.table.put(*b.record);
      ++m.from_bucket;
    }
  }
  return m;
}

UserChanges local_changes(const BucketUsers& known, const auth::UserTable& table) {
  UserChanges c;
  for (const auth::UserRecord& u : table.users) {
    const auto it = known.find(user_key(u.name));
    if (it == known.end() || !it->second.record || *it->second.record != u) c.put.push_back(u);
  }
  for (const auto& [key, b] : known) {
    if (b.record && !table.find(b.record->name)) c.deleted.push_back(key);
  }
  return c;
}

UserSync::UserSync(const Engine& engine, std::string data_dir)
    : engine_(engine),
      data_dir_(std::move(data_dir)),
      bucket_name_(engine.layout().users_bucket),
      kv_(engine.bucket(bucket_name_)) {
  if (!kv_) throw EngineError(fmt::format("cluster: bucket {} is not open", bucket_name_));
  BucketUsers bucket;
  read_bucket(bucket);
  merge(std::move(bucket));
}

void UserSync::merge(BucketUsers bucket) {
  // The file under the users lock: no hydrant user command changes it in between.
  auth::UsersLock lock(data_dir_);
  const std::string path = auth::users_path(data_dir_);
  const auth::UserTable local = auth::load_users(path);
  UserMerge m = merge_users(local, bucket);
  known_ = std::move(bucket);
  for (const auth::UserRecord& u : m.to_put) {
    uint64_t revision = 0;
    const natsStatus s = put_user(kv_, u, revision);
    if (s != NATS_OK) {
      throw EngineError(fmt::format("cluster: bucket {}: cannot put user {}: {}", bucket_name_,
                                    u.name, nats_error(s)));
    }
    known_[user_key(u.name)] = BucketUser{u, revision, 0};
  }
  if (m.table.users != local.users) {
    m.table.serial = local.serial + 1;
    auth::save_users(path, m.table);
  }
  merge_report_ = fmt::format("bucket={} users={} put={} from_bucket={} dropped={}", bucket_name_,
                              m.table.users.size(), m.to_put.size(), m.from_bucket, m.dropped.size());
  for (const std::string& name : m.dropped) {
    log::info("event=cluster-user-changed user=\"{}\" action=delete note=\"deleted on another "
              "node while this one was away\"", log::untrusted(name));
  }
}

UserSync::~UserSync() {
  stop_watching();
  if (jetstream_) jsCtx_Destroy(jetstream_);
}

std::optional<BucketUser> UserSync::read_change(const Change& c) const {
  BucketUser got;
  got.revision = c.revision;
  if (c.deleted) {
    got.deleted_at = c.time_ns / kNanosPerSecond;
    return got;
  }
  try {
    got.record = auth::parse_user_json(c.value, fmt::format("bucket {} key {}", bucket_name_, c.key));
  } catch (const auth::UserDbError& e) {
    log::warn("event=cluster-user-ignored bucket={} key=\"{}\" error=\"{}\"", bucket_name_,
              log::untrusted(c.key), log::untrusted(e.what()));
    return std::nullopt;
  }
  if (user_key(got.record->name) != c.key) {
    log::warn("event=cluster-user-ignored bucket={} key=\"{}\" error=\"the record is user {}'s\"",
              bucket_name_, log::untrusted(c.key), log::untrusted(got.record->name));
    return std::nullopt;
  }
  return got;
}

void UserSync::read_bucket(BucketUsers& into) {
  // A JetStream cluster that has just formed may not place the read's consumer yet.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (true) {
    BucketUsers got;
    uint64_t last = 0;
    kvWatchOptions options;
    kvWatchOptions_Init(&options);
    kvWatcher* watcher = nullptr;
    natsStatus s = kvStore_WatchAll(&watcher, kv_, &options);
    // The current entry of every key, deletions included, then a null entry: the end of them.
    while (s == NATS_OK) {
      EntryHolder h;
      s = kvWatcher_Next(&h.e, watcher, 5000);
      if (s != NATS_OK || !h.e) break;
      const kvOperation op = kvEntry_Operation(h.e);
      const Change c{kvEntry_Key(h.e), op == kvOp_Delete || op == kvOp_Purge, kvEntry_Revision(h.e),
                     kvEntry_Created(h.e),
                     std::string_view(static_cast<const char*>(kvEntry_Value(h.e)),
                                      static_cast<size_t>(kvEntry_ValueLen(h.e)))};
      last = std::max(last, c.revision);
      if (auto entry = read_change(c)) got[c.key] = std::move(*entry);
    }
    if (watcher) kvWatcher_Destroy(watcher);
    if (s == NATS_OK) {
      into = std::move(got);
      watch_from_ = last + 1;  // what changes from now on: the watch reads it
      return;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      throw EngineError(fmt::format("cluster: bucket {}: cannot read the users: {}", bucket_name_,
                                    nats_error(s)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

void UserSync::start_watching(std::function<void()> applied) {
  if (thread_.joinable()) return;
  applied_ = std::move(applied);
  stopping_ = false;
  thread_ = std::thread([this] { watch_loop(); });
}

void UserSync::stop_watching() {
  if (!thread_.joinable()) return;
  stopping_ = true;
  thread_.join();
  if (subscription_) {
    // Unsubscribing deletes the consumer, a request that waits for the engine's answer: not
    // asked of an engine that is gone (the server drops an idle ordered consumer).
    if (connected()) natsSubscription_Unsubscribe(subscription_);
    natsSubscription_Destroy(subscription_);
    subscription_ = nullptr;
  }
}

bool UserSync::connected() const {
  return natsConnection_Status(engine_.connection()) == NATS_CONN_STATUS_CONNECTED;
}

bool UserSync::subscribe() {
  natsStatus s = NATS_OK;
  if (!jetstream_) s = natsConnection_JetStream(&jetstream_, engine_.connection(), nullptr);
  const std::string stream = "KV_" + bucket_name_;
  const std::string subjects = "$KV." + bucket_name_ + ".>";
  jsSubOptions options;
  jsSubOptions_Init(&options);
  options.Stream = stream.c_str();
  options.Ordered = true;  // the library re-creates the consumer on a gap: nothing skipped
  options.Config.DeliverPolicy = js_DeliverByStartSequence;
  options.Config.OptStartSeq = watch_from_;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  if (s == NATS_OK) {
    s = js_SubscribeSync(&subscription_, jetstream_, subjects.c_str(), nullptr, &options, &jerr);
  }
  if (s == NATS_OK) s = natsSubscription_SetPendingLimits(subscription_, -1, -1);
  if (s != NATS_OK) {
    if (subscription_) natsSubscription_Destroy(subscription_);
    subscription_ = nullptr;
    log::warn("event=cluster-users-watch-failed bucket={} error=\"{}\" note=\"tried again\"",
              bucket_name_, nats_error(s));
    return false;
  }
  return true;
}

void UserSync::watch_loop() {
  const std::string prefix = "$KV." + bucket_name_ + ".";
  // Changes that come together are applied together: one reload after the last of them.
  size_t to_apply = 0;
  while (!stopping_) {
    if (!subscription_ && !subscribe()) {
      for (int i = 0; i < 4 && !stopping_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(250));
      continue;
    }
    natsMsg* msg = nullptr;
    const natsStatus s = natsSubscription_NextMsg(&msg, subscription_, to_apply ? 20 : 250);
    if (s == NATS_OK) {
      jsMsgMetaData* meta = nullptr;
      const char* op = nullptr;
      const std::string_view subject = natsMsg_GetSubject(msg);
      if (subject.starts_with(prefix) && natsMsg_GetMetaData(&meta, msg) == NATS_OK) {
        natsMsgHeader_Get(msg, "KV-Operation", &op);
        const std::string_view kind = op ? op : "";
        const Change c{std::string(subject.substr(prefix.size())), kind == "DEL" || kind == "PURGE",
                       meta->Sequence.Stream, meta->Timestamp,
                       std::string_view(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg)))};
        watch_from_ = c.revision + 1;
        if (apply_remote(c)) ++to_apply;
      }
      if (meta) jsMsgMetaData_Destroy(meta);
      natsMsg_Destroy(msg);
      if (to_apply < 256) continue;
    }
    if (to_apply && applied_) applied_();
    to_apply = 0;
    if (s == NATS_OK || s == NATS_TIMEOUT) {
      if (s == NATS_TIMEOUT) retry_unpublished();
      continue;
    }
    // The engine away (libnats re-creates the ordered consumer once it is back), or the
    // subscription no longer valid: made again from the next revision.
    if (!natsSubscription_IsValid(subscription_)) {
      natsSubscription_Destroy(subscription_);
      subscription_ = nullptr;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

void UserSync::retry_unpublished() {
  // A local change that did not reach the engine: tried again while it answers.
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  if (!unpublished_ || !connected() || now - last_retry_ < std::chrono::seconds(5)) return;
  last_retry_ = now;
  try {
    publish(auth::load_users(auth::users_path(data_dir_)));
  } catch (const auth::UserDbError& e) {
    log::error("event=cluster-users-publish-failed error=\"{}\"", e.what());
  }
}

bool UserSync::apply_remote(const Change& c) {
  std::optional<BucketUser> got = read_change(c);
  if (!got) return false;
  std::lock_guard lock(mutex_);
  BucketUser& have = known_[c.key];
  // Older than what this node put or read (its own change coming back, or one it overtook).
  if (got->revision <= have.revision) return false;
  const BucketUser before = have;
  have = *got;
  if (before.record == got->record) return false;  // nothing new for this node
  const std::string name = got->record ? got->record->name : before.record ? before.record->name : "";
  if (name.empty()) return false;  // a deletion of a user this node never had
  const char* action = got->record ? "put" : "delete";
  try {
    auth::UsersLock file_lock(data_dir_);
    const std::string path = auth::users_path(data_dir_);
    auth::UserTable table = auth::load_users(path);
    const auth::UserRecord* current = table.find(name);
    const bool differs = got->record ? !current || *current != *got->record : current != nullptr;
    if (differs) {
      if (got->record) {
        table.put(*got->record);
      } else {
        table.erase(name);
      }
      ++table.serial;
      auth::save_users(path, table);
    }
  } catch (const auth::UserDbError& err) {
    // Not applied here: this node keeps its users, and never takes the bucket's for its own.
    have = before;
    log::error("event=cluster-user-change-failed user=\"{}\" action={} error=\"{}\"",
               log::untrusted(name), action, err.what());
    return false;
  }
  log::info("event=cluster-user-changed user=\"{}\" action={}", log::untrusted(name), action);
  return true;
}

void UserSync::publish_local(const std::function<std::shared_ptr<const auth::UserTable>()>& load) {
  std::lock_guard lock(mutex_);
  if (const auto table = load()) publish(*table);
}

void UserSync::publish(const auth::UserTable& table) {
  const UserChanges changes = local_changes(known_, table);
  if (changes.put.empty() && changes.deleted.empty()) {
    unpublished_ = false;
    return;
  }
  if (!connected()) {
    // Not waited for (a request would wait for the engine's time-out on the caller's loop).
    if (!unpublished_) {
      log::warn("event=cluster-users-publish-deferred users={} note=\"the engine is not "
                "reachable; sent once it is\"", changes.put.size() + changes.deleted.size());
    }
    unpublished_ = true;
    return;
  }
  bool failed = false;
  for (const auth::UserRecord& u : changes.put) {
    uint64_t revision = 0;
    const natsStatus s = put_user(kv_, u, revision);
    if (s != NATS_OK) {
      failed = true;
      log::warn("event=cluster-user-publish-failed user=\"{}\" action=put error=\"{}\"",
                log::untrusted(u.name), nats_error(s));
      continue;
    }
    known_[user_key(u.name)] = BucketUser{u, revision, 0};
    log::info("event=cluster-user-published user=\"{}\" action=put revision={}",
              log::untrusted(u.name), revision);
  }
  for (const std::string& key : changes.deleted) {
    BucketUser& b = known_[key];
    const std::string name = b.record->name;
    const natsStatus s = kvStore_Delete(kv_, key.c_str());
    if (s != NATS_OK) {
      failed = true;
      log::warn("event=cluster-user-publish-failed user=\"{}\" action=delete error=\"{}\"",
                log::untrusted(name), nats_error(s));
      continue;
    }
    // The deletion's revision comes back through the watch (kvStore_Delete does not say it).
    b.record.reset();
    log::info("event=cluster-user-published user=\"{}\" action=delete", log::untrusted(name));
  }
  unpublished_ = failed;
}

}  // namespace hydrant::cluster
