// The cluster's users: every node keeps its own <data>/users.json (the file the hydrant user
// commands and the admin API change, and that the broker reloads when it changes), and the
// engine's users bucket holds one key per user, the user's record as the file writes it
// (auth::user_json, token hash included). The two are kept the same:
//
// - At start, before the broker loads the file: the bucket and the file are merged. A user in
//   both is taken from the bucket unless the file's record is newer (created, then epoch, then
//   tokens_rotated); a user only in the file is put in the bucket (the first node seeds the
//   cluster), unless the bucket holds a deletion of it made after the record was created or
//   rotated; a user only in the bucket is added to the file.
// - A change made on this node (the file reloaded): what differs from the bucket as this node
//   knows it is put there, or deleted (publish_local).
// - A change made on another node reaches this one through a watch of the bucket: it is written
//   into the file (under the users lock) and then `applied` runs, which reloads the file and
//   closes the connections whose credentials went away. A change this node made itself comes
//   back through the watch too, and is recognised by its revision (no echo).
//
// Threads: the constructor runs on the main thread at start; publish_local on whichever thread
// reloads the users (main, bridge); the watch on its own thread, between start_watching and
// stop_watching. Log lines name users, never their token hashes.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "auth/user_db.hpp"
#include "cluster/engine.hpp"

struct __jsCtx;
struct __natsSubscription;

namespace hydrant::cluster {

// The bucket's key of a user: the name's bytes in [A-Za-z0-9-] as they are, every other byte
// as _xx (lowercase hex): one-to-one, and a valid key for any name.
std::string user_key(std::string_view name);

// What the bucket holds under one key, as this node knows it.
struct BucketUser {
  std::optional<auth::UserRecord> record;  // none: deleted
  uint64_t revision = 0;                   // of the entry; 0: not known
  int64_t deleted_at = 0;                  // a deletion's time, seconds since the epoch
};
using BucketUsers = std::map<std::string, BucketUser, std::less<>>;  // by key

// The merge at start (pure; the header's first point).
struct UserMerge {
  auth::UserTable table;                 // what the file is to hold (the local serial kept)
  std::vector<auth::UserRecord> to_put;  // file users the bucket lacks or holds older
  std::vector<std::string> dropped;      // file users deleted in the bucket since (names)
  size_t from_bucket = 0;                // users added or replaced from the bucket
};
UserMerge merge_users(const auth::UserTable& local, const BucketUsers& bucket);

// A local change (pure): the users of `table` the bucket lacks or holds otherwise, and the keys
// of the users the bucket holds that `table` no longer has.
struct UserChanges {
  std::vector<auth::UserRecord> put;
  std::vector<std::string> deleted;  // keys
};
UserChanges local_changes(const BucketUsers& known, const auth::UserTable& table);

class UserSync {
 public:
  // Reads the bucket and merges it with the users file of `data_dir` (users lock held): the
  // file then holds the merged table and the bucket every user the file had that it lacked.
  // A JetStream cluster that has just formed may refuse for a while: tried again for up to
  // 15 s. Throws EngineError, or auth::UserDbError for a file that does not load.
  UserSync(const Engine& engine, std::string data_dir);
  ~UserSync();  // stop_watching()
  UserSync(const UserSync&) = delete;
  UserSync& operator=(const UserSync&) = delete;

  // From now on other nodes' changes are written into the file, then `applied` runs (on the
  // watch's thread): every change made since the start's read. A local change that could not
  // reach the engine is tried again from there.
  void start_watching(std::function<void()> applied);
  // Ends the watch and waits for its thread (a quarter of a second at most); before the
  // engine goes.
  void stop_watching();

  // This node's users file changed: `load` reloads it (the broker's reload) and returns the
  // table now in force, or null when the file did not load; what differs from the bucket is
  // then put there or deleted. Other nodes' changes wait meanwhile, so that none of them is
  // taken for a local one. Failures are logged; the change is tried again later.
  void publish_local(const std::function<std::shared_ptr<const auth::UserTable>()>& load);

  // The merge's outcome, as key=value pairs for the start-up log line.
  const std::string& merge_report() const { return merge_report_; }

 private:
  // One entry of the bucket, as the start's read or the watch gives it.
  struct Change {
    std::string key;
    bool deleted = false;
    uint64_t revision = 0;
    int64_t time_ns = 0;
    std::string_view value;  // a put's
  };
  // The user of a change, or nullopt (logged) for a value that is not a user of that key.
  std::optional<BucketUser> read_change(const Change& c) const;
  void read_bucket(BucketUsers& into);
  void merge(BucketUsers bucket);
  void publish(const auth::UserTable& table);  // under mutex_
  void watch_loop();
  bool subscribe();                     // on the watch's thread
  bool apply_remote(const Change& c);   // true when the file changed
  void retry_unpublished();
  bool connected() const;

  const Engine& engine_;
  const std::string data_dir_;
  const std::string bucket_name_;
  __kvStore* const kv_;

  std::mutex mutex_;      // known_ and the file's writes by the watch; held by publish_local
  BucketUsers known_;     // the bucket as this node knows it
  bool unpublished_ = false;  // a local change did not reach the engine
  std::chrono::steady_clock::time_point last_retry_{};
  std::string merge_report_;

  // The watch: an ordered consumer of the bucket's stream from just after what the start's
  // read saw (a kvWatcher would delete its consumer at the end even with the engine gone,
  // waiting for the engine's time-out).
  std::function<void()> applied_;
  __jsCtx* jetstream_ = nullptr;
  __natsSubscription* subscription_ = nullptr;  // the watch's thread's, until it is joined
  uint64_t watch_from_ = 1;                     // the next revision to read
  std::thread thread_;
  std::atomic<bool> stopping_ = false;
};

}  // namespace hydrant::cluster
