// The cluster's persistent sessions in the engine's sessions bucket. See session_directory.hpp.
#include "cluster/session_directory.hpp"

#include <nats/nats.h>

#include <chrono>
#include <random>

#include "store/records.hpp"
#include "util/log.hpp"
#include "util/wall_clock.hpp"

namespace hydrant::cluster {

namespace {

constexpr int kTakeAttempts = 5;  // a record that keeps changing under a take: given up then

struct EntryHolder {
  kvEntry* e = nullptr;
  EntryHolder() = default;
  EntryHolder(const EntryHolder&) = delete;
  EntryHolder& operator=(const EntryHolder&) = delete;
  ~EntryHolder() {
    if (e) kvEntry_Destroy(e);
  }
};

// Visits the values a bucket holds now (a watch's first values, up to its null entry).
template <class Visit>
bool each_value(kvStore* bucket, Visit visit) {
  kvWatchOptions options;
  kvWatchOptions_Init(&options);
  options.IgnoreDeletes = true;
  kvWatcher* watcher = nullptr;
  if (kvStore_WatchAll(&watcher, bucket, &options) != NATS_OK) return false;
  while (true) {
    EntryHolder h;
    if (kvWatcher_Next(&h.e, watcher, 5000) != NATS_OK || !h.e) break;
    visit(h.e);
  }
  kvWatcher_Destroy(watcher);
  return true;
}

std::optional<SessionRecord> record_of(kvEntry* e) {
  if (kvEntry_Operation(e) != kvOp_Put) return std::nullopt;
  return decode_session_record(
      std::string_view(static_cast<const char*>(kvEntry_Value(e)), static_cast<size_t>(kvEntry_ValueLen(e))));
}

}  // namespace

SessionDirectory::SessionDirectory(const Engine& engine)
    : engine_(engine), bucket_(engine.bucket(engine.layout().sessions_bucket)),
      next_incarnation_(std::random_device{}() | (uint64_t{std::random_device{}()} << 32) | 1) {}

SessionDirectory::~SessionDirectory() { stop(); }

std::map<std::string, store::StoredSession, std::less<>> SessionDirectory::own_sessions(int64_t now_ms) {
  std::map<std::string, store::StoredSession, std::less<>> own;
  const bool read = each_value(bucket_, [&](kvEntry* e) {
    auto rec = record_of(e);
    auto client_id = client_id_of_key(kvEntry_Key(e));
    if (!rec || !client_id || rec->node != engine_.options().node_name || rec->expired(now_ms)) return;
    own.emplace(*client_id, rec->session);
    entries_[*client_id] = Entry{*rec, kvEntry_Revision(e), false};
  });
  if (!read) throw EngineError("cluster: cannot read the sessions bucket");
  return own;
}

void SessionDirectory::start(GiveUp give_up, Adopt adopt) {
  give_up_ = std::move(give_up);
  adopt_ = std::move(adopt);
  writer_ = std::thread([this] { write_loop(); });
  watch_ = std::make_unique<BucketWatch>(engine_, engine_.layout().sessions_bucket, BucketWatch::From::NewOnly,
                                         [this](const BucketChange& c) { on_change(c); });
}

void SessionDirectory::stop(uint32_t wait_ms) {
  {
    std::unique_lock lock(mutex_);
    if (stopping_ || !writer_.joinable()) return;
    // What the hosts changed last (cursors, wills) goes out before the node does, if it can.
    if (connected()) {
      wake_.wait_for(lock, std::chrono::milliseconds(wait_ms), [this] { return dirty_.empty(); });
    }
    stopping_ = true;
  }
  wake_.notify_all();
  writer_.join();
  watch_.reset();
}

SessionDirectory::Entry* SessionDirectory::owned(std::string_view client_id) {
  auto it = entries_.find(std::string(client_id));
  return it == entries_.end() ? nullptr : &it->second;
}

void SessionDirectory::mark_dirty(const std::string& client_id, Entry& e) {
  if (!e.queued) {
    e.queued = true;
    dirty_.push_back(client_id);
    wake_.notify_all();
  }
}

uint64_t SessionDirectory::open(std::string_view client_id, uint64_t incarnation,
                                codec::ProtocolVersion version, uint32_t expiry) {
  std::lock_guard lock(mutex_);
  Entry* e = owned(client_id);
  // A new session (incarnation 0) always gets a record of its own, even while the one it
  // replaced is still being ended: that end names the old incarnation and leaves this one be.
  if (!e || incarnation == 0 || e->record.session.incarnation != incarnation) {
    // A new session here: it replaces whatever the bucket held (another node gives that up).
    e = &(entries_[std::string(client_id)] = Entry{});
    e->record.session.incarnation = incarnation ? incarnation : next_incarnation_.fetch_add(2);
  }
  e->record.node = engine_.options().node_name;
  e->record.session.version = version;
  e->record.session.expiry_interval = expiry;
  e->record.offline_since_ms = 0;
  e->record.ended = false;
  mark_dirty(std::string(client_id), *e);
  return e->record.session.incarnation;
}

void SessionDirectory::end(std::string_view client_id, uint64_t incarnation) {
  std::lock_guard lock(mutex_);
  Entry* e = owned(client_id);
  if (!e || e->record.session.incarnation != incarnation) return;
  e->record.ended = true;
  e->record.session.subscriptions.clear();
  mark_dirty(std::string(client_id), *e);
}

void SessionDirectory::subscribe(std::string_view client_id, std::string_view filter,
                                 const codec::SubscriptionOptions& options, uint32_t subscription_id,
                                 uint64_t start) {
  std::lock_guard lock(mutex_);
  if (Entry* e = owned(client_id)) {
    e->record.session.subscriptions[std::string(filter)] = {options, subscription_id, start};
    mark_dirty(std::string(client_id), *e);
  }
}

void SessionDirectory::unsubscribe(std::string_view client_id, std::string_view filter) {
  std::lock_guard lock(mutex_);
  if (Entry* e = owned(client_id)) {
    if (auto it = e->record.session.subscriptions.find(filter); it != e->record.session.subscriptions.end()) {
      e->record.session.subscriptions.erase(it);
      mark_dirty(std::string(client_id), *e);
    }
  }
}

void SessionDirectory::cursor(std::string_view client_id, uint64_t sequence) {
  std::lock_guard lock(mutex_);
  if (Entry* e = owned(client_id); e && sequence > e->record.session.cursor) {
    e->record.session.cursor = sequence;
    mark_dirty(std::string(client_id), *e);
  }
}

uint64_t SessionDirectory::will(std::string_view client_id, uint64_t incarnation,
                                codec::ProtocolVersion version, uint32_t expiry,
                                const fanout::Message* will, uint32_t will_delay) {
  std::lock_guard lock(mutex_);
  Entry* e = owned(client_id);
  if (!e || incarnation == 0 || e->record.session.incarnation != incarnation) {
    if (!will) return incarnation;  // nothing to keep
    e = &(entries_[std::string(client_id)] = Entry{});
    e->record.node = engine_.options().node_name;
    e->record.session.incarnation = incarnation ? incarnation : next_incarnation_.fetch_add(2);
    e->record.session.version = version;
    e->record.session.expiry_interval = expiry;
  }
  std::string encoded = will ? store::encode_message(*will) : std::string();
  if (encoded != e->record.session.will || (will && will_delay != e->record.session.will_delay)) {
    e->record.session.will = std::move(encoded);
    e->record.session.will_delay = will ? will_delay : 0;
    mark_dirty(std::string(client_id), *e);
  }
  return e->record.session.incarnation;
}

void SessionDirectory::adopt_from(std::string node) {
  {
    std::lock_guard lock(mutex_);
    dead_nodes_.push_back(std::move(node));
  }
  wake_.notify_all();
}

void SessionDirectory::adopt_now(const std::string& node) {
  // The sessions the dead node had, as the bucket holds them now.
  std::vector<std::string> theirs;
  each_value(bucket_, [&](kvEntry* e) {
    auto rec = record_of(e);
    auto client_id = client_id_of_key(kvEntry_Key(e));
    if (rec && client_id && rec->node == node && !rec->ended) theirs.push_back(*client_id);
  });
  size_t adopted = 0;
  for (const auto& client_id : theirs) {
    store::TakenSession taken = take_now(client_id, node);
    if (taken.outcome != store::TakenSession::Outcome::Taken) continue;  // another node was first
    ++adopted_;
    ++adopted;
    if (adopt_) adopt_(client_id, std::move(taken.session));
  }
  log::info("event=cluster-node-sessions-adopted node=\"{}\" sessions={} adopted_here={}", node,
            theirs.size(), adopted);
}

void SessionDirectory::take(std::string client_id, std::function<void(store::TakenSession)> done) {
  {
    std::lock_guard lock(mutex_);
    takes_.push_back({std::move(client_id), std::move(done)});
  }
  wake_.notify_all();
}

void SessionDirectory::write_loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (!dead_nodes_.empty()) {
      std::string node = std::move(dead_nodes_.front());
      dead_nodes_.pop_front();
      lock.unlock();
      adopt_now(node);
      lock.lock();
      continue;
    }
    if (!takes_.empty()) {
      Take t = std::move(takes_.front());
      takes_.pop_front();
      lock.unlock();
      t.done(take_now(t.client_id));
      lock.lock();
      continue;
    }
    if (!dirty_.empty()) {
      std::string client_id = std::move(dirty_.front());
      dirty_.pop_front();
      lock.unlock();
      const bool written = write(client_id);
      lock.lock();
      if (!written) {  // the engine is away: again in a while
        if (Entry* e = owned(client_id); e && !e->queued) mark_dirty(client_id, *e);
        wake_.wait_for(lock, std::chrono::milliseconds(500), [this] { return stopping_; });
      }
      if (dirty_.empty()) wake_.notify_all();  // stop() waits for this
      continue;
    }
    wake_.wait(lock, [this] { return stopping_ || !dirty_.empty() || !takes_.empty() || !dead_nodes_.empty(); });
  }
  // A take still asked for gets an answer: the node is stopping.
  for (Take& t : takes_) t.done({store::TakenSession::Outcome::Unavailable, {}});
  takes_.clear();
}

bool SessionDirectory::connected() const {
  return natsConnection_Status(engine_.connection()) == NATS_CONN_STATUS_CONNECTED;
}

bool SessionDirectory::write(const std::string& client_id) {
  if (!connected()) return false;  // kept dirty: written once the engine is back
  std::string data;
  uint64_t revision = 0;
  bool ended = false;
  {
    std::lock_guard lock(mutex_);
    Entry* e = owned(client_id);
    if (!e) return true;  // given up meanwhile
    e->queued = false;
    data = encode_session_record(e->record);
    revision = e->revision;
    ended = e->record.ended;
  }
  const std::string key = session_key(client_id);
  uint64_t written = 0;
  // A new session replaces what was there; a known one only if nobody changed it since.
  natsStatus s = revision == 0
                     ? kvStore_Put(&written, bucket_, key.c_str(), data.data(), static_cast<int>(data.size()))
                     : kvStore_Update(&written, bucket_, key.c_str(), data.data(), static_cast<int>(data.size()), revision);
  std::lock_guard lock(mutex_);
  Entry* e = owned(client_id);
  if (s == NATS_OK) {
    if (e && e->revision == revision) {
      e->revision = written;
      if (ended && e->record.ended) entries_.erase(client_id);
    }
    return true;
  }
  ++write_failures_;
  if (!e || e->revision != revision) return true;
  // Another node changed the record: it took the session. Told apart from an engine that is
  // away by reading the record again.
  EntryHolder h;
  const natsStatus got = kvStore_Get(&h.e, bucket_, key.c_str());
  if (got != NATS_OK && got != NATS_NOT_FOUND) return false;
  if (got == NATS_OK && kvEntry_Revision(h.e) == revision) return false;
  log::warn("event=cluster-session-lost client=\"{}\" note=\"another node changed its record\"", client_id);
  entries_.erase(client_id);
  if (!ended) {
    ++given_up_;
    if (give_up_) give_up_(client_id);
  }
  return true;
}

store::TakenSession SessionDirectory::take_now(const std::string& client_id, const std::string& only_from) {
  using Outcome = store::TakenSession::Outcome;
  // No engine: answered at once (CONNACK 0x88), not after its time-outs, which would hold up
  // every other take and write meanwhile.
  if (!connected()) return {Outcome::Unavailable, {}};
  const std::string key = session_key(client_id);
  for (int attempt = 0; attempt < kTakeAttempts; ++attempt) {
    EntryHolder h;
    const natsStatus got = kvStore_Get(&h.e, bucket_, key.c_str());
    if (got == NATS_NOT_FOUND) return {Outcome::None, {}};
    if (got != NATS_OK) return {Outcome::Unavailable, {}};
    auto rec = record_of(h.e);
    if (!rec || rec->expired(util::unix_ms())) return {Outcome::None, {}};
    if (!only_from.empty() && rec->node != only_from) return {Outcome::None, {}};
    const std::string previous = rec->node;
    rec->node = engine_.options().node_name;
    rec->offline_since_ms = 0;
    const std::string data = encode_session_record(*rec);
    uint64_t written = 0;
    if (kvStore_Update(&written, bucket_, key.c_str(), data.data(), static_cast<int>(data.size()),
                       kvEntry_Revision(h.e)) != NATS_OK) {
      continue;  // changed meanwhile (or the engine went away): read it again
    }
    {
      std::lock_guard lock(mutex_);
      entries_[client_id] = Entry{*rec, written, false};
    }
    ++taken_;
    log::info("event=cluster-session-taken client=\"{}\" from=\"{}\" cursor={} subscriptions={}{}",
              client_id, previous, rec->session.cursor, rec->session.subscriptions.size(),
              only_from.empty() ? "" : " node_died=true");
    return {Outcome::Taken, rec->session};
  }
  return {Outcome::Unavailable, {}};
}

void SessionDirectory::on_change(const BucketChange& change) {
  auto client_id = client_id_of_key(change.key);
  if (!client_id) return;
  std::optional<SessionRecord> rec;
  if (!change.deleted) rec = decode_session_record(change.value);
  bool lost = false;
  {
    std::lock_guard lock(mutex_);
    Entry* e = owned(*client_id);
    // Another node's newer record (or a deletion) of a session this node has: it is theirs.
    lost = e && change.revision > e->revision && (!rec || rec->node != engine_.options().node_name);
    if (lost) entries_.erase(*client_id);
  }
  if (lost) {
    ++given_up_;
    log::info("event=cluster-session-given-up client=\"{}\" to=\"{}\"", *client_id, rec ? rec->node : "");
    if (give_up_) give_up_(*client_id);
  }
}

}  // namespace hydrant::cluster
