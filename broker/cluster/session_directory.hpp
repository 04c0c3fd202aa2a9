// Where each persistent session of the cluster lives: the sessions bucket, one record per client
// id (session_record.hpp). The node that has a session writes its changes there (subscriptions,
// cursor, offline time, the will), each by compare-and-set on the record's last revision, so a
// node that lost the session to another can never overwrite it. A client that reconnects to
// another node gets its session there by take(): that node sets itself as the owner, by the
// same compare-and-set; the old node sees the change through its watch and gives the session up.
//
// Threads: the owner's calls come from the hosts' loops and never wait for the engine (a writer
// thread writes what changed, coalesced per session); the bucket's changes arrive on libnats's.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>

#include "cluster/bucket_watch.hpp"
#include "cluster/engine.hpp"
#include "cluster/session_record.hpp"
#include "store/durable_store.hpp"

namespace hydrant::cluster {

class SessionDirectory {
 public:
  // Another node took over (or ended) a session this node had: give it up here. Called on
  // libnats's thread.
  using GiveUp = std::function<void(const std::string& client_id)>;
  // A session of a node that died, taken over by this one: restore it (offline, with its will).
  // Called on the writer's thread.
  using Adopt = std::function<void(const std::string& client_id, store::StoredSession session)>;

  explicit SessionDirectory(const Engine& engine);
  ~SessionDirectory();  // stop()

  // At start, before start(): the sessions the bucket says live on this node, and not expired.
  std::map<std::string, store::StoredSession, std::less<>> own_sessions(int64_t now_ms);
  void start(GiveUp give_up, Adopt adopt);
  // Writes what is pending (for at most `wait_ms`), then stops both threads.
  void stop(uint32_t wait_ms = 2000);

  // ---- the owner's changes: applied here at once, written to the engine soon after ----
  uint64_t open(std::string_view client_id, uint64_t incarnation, codec::ProtocolVersion version,
                uint32_t expiry);
  void end(std::string_view client_id, uint64_t incarnation);
  void subscribe(std::string_view client_id, std::string_view filter,
                 const codec::SubscriptionOptions& options, uint32_t subscription_id, uint64_t start);
  void unsubscribe(std::string_view client_id, std::string_view filter);
  void cursor(std::string_view client_id, uint64_t sequence);
  // The session's will now (null: none); a session that is not persistent gets a record (and an
  // incarnation) for it. Returns the incarnation.
  uint64_t will(std::string_view client_id, uint64_t incarnation, codec::ProtocolVersion version,
                uint32_t expiry, const fanout::Message* will, uint32_t will_delay);

  // Node `node` died: this node takes over each of its sessions that no other node took first
  // (compare-and-set, so each once), on the writer's thread, and hands them to `adopt`.
  void adopt_from(std::string node);

  // Takes over the session `client_id` from the node that has it (alive or not), on the
  // writer's thread, then runs `done` there with the outcome.
  void take(std::string client_id, std::function<void(store::TakenSession)> done);

  uint64_t taken() const { return taken_.load(); }        // sessions this node took over
  uint64_t given_up() const { return given_up_.load(); }  // sessions another node took from it
  uint64_t adopted() const { return adopted_.load(); }    // sessions of dead nodes taken over
  uint64_t write_failures() const { return write_failures_.load(); }

 private:
  struct Entry {
    SessionRecord record;
    uint64_t revision = 0;  // of the record as this node last wrote or read it; 0: not yet
    bool queued = false;    // in dirty_
  };
  struct Take {
    std::string client_id;
    std::function<void(store::TakenSession)> done;
  };

  Entry* owned(std::string_view client_id);  // under mutex_
  void mark_dirty(const std::string& client_id, Entry& e);  // under mutex_
  void write_loop();
  void adopt_now(const std::string& node);
  void on_change(const BucketChange& change);
  // One write of a session's record; false when the engine did not take it (tried again later).
  bool write(const std::string& client_id);
  bool connected() const;  // the engine's connection is up
  // `only_from`: take it only if that node has it (adoption); empty: from whichever node.
  store::TakenSession take_now(const std::string& client_id, const std::string& only_from = {});

  const Engine& engine_;
  __kvStore* const bucket_;
  GiveUp give_up_;
  Adopt adopt_;
  std::deque<std::string> dead_nodes_;  // whose sessions to adopt
  std::mutex mutex_;
  std::condition_variable wake_;
  std::unordered_map<std::string, Entry> entries_;  // the sessions this node has
  std::deque<std::string> dirty_;
  std::deque<Take> takes_;
  bool stopping_ = false;
  std::thread writer_;
  std::unique_ptr<BucketWatch> watch_;
  std::atomic<uint64_t> taken_{0}, given_up_{0}, adopted_{0}, write_failures_{0};
  std::atomic<uint64_t> next_incarnation_;
};

}  // namespace hydrant::cluster
