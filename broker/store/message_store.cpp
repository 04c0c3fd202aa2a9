// MessageStore: recovery, appends, snapshots, retention. Reads are in history_read.cpp.
#include "store/message_store.hpp"

#include <openssl/rand.h>

#include <charconv>
#include <filesystem>

#include <fmt/format.h>

#include "util/files.hpp"
#include "util/log.hpp"
#include "util/wall_clock.hpp"

namespace hydrant::store {

namespace {

constexpr size_t kNewestMessages = 16384;        // kept in memory for reads and replay
constexpr uint64_t kNewestBytes = 16ull << 20;
// A snapshot is due once what was appended since the last one (the snapshot itself not
// counted) outgrows both a floor and the snapshot: then snapshots cost at most about as much as
// the writes they follow, an idle broker writes none, and the log stays within a small multiple
// of the live state plus the history kept.
constexpr uint64_t kSnapshotFloorRecords = 100000;

uint8_t kind_byte(Kind k) { return static_cast<uint8_t>(k); }

}  // namespace

// The exchange a topic belongs to, for the history index: its first three levels
// (exchange/<owner>/<first level of the name>).
std::string_view exchange_key(std::string_view topic) {
  size_t at = 0;
  for (int level = 0; level < 3; ++level) {
    at = topic.find('/', at);
    if (at == std::string_view::npos) return topic;
    if (level < 2) ++at;
  }
  return topic.substr(0, at);
}

MessageStore::MessageStore(const StoreOptions& options)
    : options_(options), kept_snapshot_(std::make_shared<std::atomic<uint64_t>>(0)) {}

MessageStore::~MessageStore() = default;

std::unique_ptr<MessageStore> MessageStore::open(const StoreOptions& options) {
  std::unique_ptr<MessageStore> store(new MessageStore(options));
  store->recover();
  return store;
}

std::string MessageStore::position(uint64_t sequence) const {
  return fmt::format("{:016x}-{}", epoch_, sequence);
}

std::optional<std::pair<uint64_t, uint64_t>> MessageStore::parse_position(std::string_view text) {
  const size_t dash = text.find('-');
  if (dash != 16) return std::nullopt;
  uint64_t epoch = 0, sequence = 0;
  auto [p1, e1] = std::from_chars(text.data(), text.data() + 16, epoch, 16);
  auto [p2, e2] = std::from_chars(text.data() + 17, text.data() + text.size(), sequence);
  if (e1 != std::errc() || p1 != text.data() + 16 || e2 != std::errc() ||
      p2 != text.data() + text.size() || text.size() == 17) {
    return std::nullopt;
  }
  return std::make_pair(epoch, sequence);
}

void MessageStore::load_epoch(bool log_was_empty) {
  const std::string path = options_.dir + "/EPOCH";
  bool exists = false;
  const std::string text = util::read_file(path, exists);
  if (exists && text.size() >= 16) {
    auto [p, ec] = std::from_chars(text.data(), text.data() + 16, epoch_, 16);
    if (ec == std::errc() && p == text.data() + 16 && epoch_ != 0) return;
  }
  if (!log_was_empty) {
    log::warn("event=store-epoch-missing path=\"{}\" note=\"a new epoch: positions handed out "
              "before are no longer trusted\"", path);
  }
  while (epoch_ == 0) {
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&epoch_), sizeof epoch_) != 1) {
      throw StoreError("no randomness for the store's epoch");
    }
  }
  util::write_file_atomically(path, fmt::format("{:016x}\n", epoch_), 0644);
}

void MessageStore::recover() {
  std::error_code ec;
  std::filesystem::create_directories(options_.dir, ec);
  if (ec) throw StoreError(fmt::format("{}: {}", options_.dir, ec.message()));
  LogOptions lo;
  lo.segment_bytes = options_.segment_bytes;
  lo.durability = options_.durability;
  lo.inject_write_error = options_.inject_write_error;
  Recovery r;
  log_ = SegmentLog::open(options_.dir, lo, r);
  load_epoch(r.records == 0);

  std::lock_guard lock(mutex_);
  const LogScan scan = index_log();
  // Second pass, from that snapshot on: the state it restates, then the changes after it. A
  // snapshot cut short (a full disk) after it only restates what the state already holds.
  uint64_t bad = scan.unreadable;
  log_->read(scan.snapshot_begin, SIZE_MAX, [&](const Record& rec) {
    const auto kind = static_cast<Kind>(rec.kind);
    if (kind == Kind::Message || kind == Kind::SnapshotBegin || kind == Kind::SnapshotEnd) return;
    if (!state_.apply(kind, rec.sequence, rec.data)) ++bad;
  });
  if (scan.snapshot_begin) kept_snapshot_->store(scan.snapshot_begin);
  recovered_ = state_;
  recovery_report_ = fmt::format(
      "segments={} records={} messages={} exchanges={} sessions={} retained={} "
      "truncated_bytes={} unreadable_records={} first={} next={} epoch={:016x}",
      r.segments, r.records, scan.messages, exchanges_.size(), state_.sessions.size(),
      state_.retained.size(), r.truncated_bytes, bad, r.first_sequence, r.next_sequence, epoch_);
  if (scan.snapshot_begin) {
    // What was written since the last snapshot counts as if this run had written it: a restart
    // snapshots only when one was due anyway, so restarts in a loop do not each restate the state.
    last_snapshot_ = scan.snapshot_begin;
    snapshot_records_ = scan.snapshot_records;
    snapshot_bytes_ = scan.snapshot_bytes;
    appended_records_ = scan.records_after;
    appended_bytes_ = scan.bytes_after;
  }
  if (!scan.snapshot_begin || snapshot_due()) snapshot();  // the next recovery starts here
}

// First pass over the whole log: the messages, for the index, and where the last complete
// snapshot begins. Only the state records from there on are replayed, so recovery does not pay
// for every older snapshot the history segments still hold.
MessageStore::LogScan MessageStore::index_log() {
  LogScan scan;
  uint64_t open_begin = 0, building_records = 0, building_bytes = 0;
  log_->read(0, SIZE_MAX, [&](const Record& rec) {
    const auto kind = static_cast<Kind>(rec.kind);
    if (kind == Kind::Message) {
      if (auto m = decode_message(rec.data, rec.sequence)) {
        index_message(m, rec.sequence, rec.time_ms);
        ++scan.messages;
      } else {
        ++scan.unreadable;
      }
      ++scan.records_after;
      scan.bytes_after += rec.data.size();
    } else if (kind == Kind::SnapshotBegin) {
      open_begin = rec.sequence;
      building_records = building_bytes = 0;
    } else if (kind == Kind::SnapshotEnd) {
      if (open_begin) {
        scan.snapshot_begin = open_begin;
        scan.snapshot_records = building_records;
        scan.snapshot_bytes = building_bytes;
        scan.records_after = scan.bytes_after = 0;
      }
      open_begin = 0;
    } else {
      ++building_records;
      building_bytes += rec.data.size();
      ++scan.records_after;
      scan.bytes_after += rec.data.size();
    }
  });
  return scan;
}

void MessageStore::index_message(const fanout::MessageRef& m, uint64_t sequence, int64_t time_ms) {
  const auto bytes = static_cast<uint32_t>(m->topic().size() + m->payload().size());
  const std::string_view key = exchange_key(m->topic());
  auto it = exchanges_.find(key);
  if (it == exchanges_.end()) it = exchanges_.emplace(std::string(key), ExchangeIndex{}).first;
  it->second.entries.push_back({sequence, time_ms, bytes, static_cast<uint32_t>(m->payload().size())});
  it->second.bytes += bytes;
  newest_.push_back({sequence, time_ms, m});
  newest_bytes_ += bytes;
  while (newest_.size() > kNewestMessages || newest_bytes_ > kNewestBytes) {
    const auto& f = newest_.front();
    newest_bytes_ -= f.msg->topic().size() + f.msg->payload().size();
    newest_.pop_front();
  }
}

fanout::MessageRef MessageStore::append_message(const MessageFactory& make, int64_t now_ms,
                                                Completion done, std::span<const std::string>,
                                                const PublishOrigin&) {
  std::lock_guard lock(mutex_);
  // Under mutex_ every append goes through here, so the next sequence is known in advance.
  uint64_t sequence = log_->next_sequence();
  fanout::MessageRef probe = make(sequence, position(sequence));
  if (probe->retain()) {
    ++sequence;  // the retained record goes first
    probe = make(sequence, position(sequence));
  }
  const std::string data = encode_message(*probe);
  if (probe->retain()) {
    log_->append(kind_byte(Kind::Retain), now_ms, data);
    state_.apply(Kind::Retain, sequence - 1, data);
  }
  log_->append(kind_byte(Kind::Message), now_ms, data, std::move(done));
  appended_records_ += probe->retain() ? 2 : 1;
  appended_bytes_ += (probe->retain() ? 2 : 1) * data.size();
  index_message(probe, sequence, now_ms);
  return probe;
}

std::vector<KeptExchange> MessageStore::kept_exchanges() const {
  std::vector<KeptExchange> out;
  std::lock_guard lock(mutex_);
  for (const auto& [key, index] : exchanges_) {
    if (index.entries.empty() || !key.starts_with("exchange/")) continue;
    KeptExchange k{key, index.entries.size(), 0, index.entries.front().time_ms, index.entries.back().time_ms};
    for (const auto& e : index.entries) k.payload_bytes += e.payload_bytes;
    out.push_back(std::move(k));
  }
  return out;
}

uint64_t MessageStore::append_state(Kind kind, std::string data) {
  const uint64_t sequence = log_->append(kind_byte(kind), util::unix_ms(), data);
  ++appended_records_;
  appended_bytes_ += data.size();
  state_.apply(kind, sequence, data);
  return sequence;
}

uint64_t MessageStore::session_open(std::string_view client_id, uint64_t incarnation,
                                    codec::ProtocolVersion version, uint32_t expiry) {
  std::lock_guard lock(mutex_);
  StoredSession s;
  s.incarnation = incarnation ? incarnation : log_->next_sequence();
  s.version = version;
  s.expiry_interval = expiry;
  append_state(Kind::SessionOpen, encode_session_open(client_id, s));
  return s.incarnation;
}

void MessageStore::session_end(std::string_view client_id, uint64_t incarnation) {
  std::lock_guard lock(mutex_);
  append_state(Kind::SessionEnd, encode_session_end(client_id, incarnation));
}

uint64_t MessageStore::subscribe(std::string_view client_id, std::string_view filter,
                                 const codec::SubscriptionOptions& options,
                                 uint32_t subscription_id) {
  std::lock_guard lock(mutex_);
  StoredSubscription sub{options, subscription_id, log_->next_sequence()};
  append_state(Kind::Subscribe, encode_subscribe(client_id, filter, sub));
  return sub.start;
}

void MessageStore::unsubscribe(std::string_view client_id, std::string_view filter) {
  std::lock_guard lock(mutex_);
  append_state(Kind::Unsubscribe, encode_unsubscribe(client_id, filter));
}

void MessageStore::cursor(std::string_view client_id, uint64_t sequence) {
  std::lock_guard lock(mutex_);
  append_state(Kind::Cursor, encode_cursor(client_id, sequence));
}

void MessageStore::retain(const fanout::MessageRef& msg) {
  std::lock_guard lock(mutex_);
  append_state(Kind::Retain, encode_message(*msg));
}

uint64_t MessageStore::last_sequence() const { return log_->next_sequence() - 1; }

void MessageStore::snapshot() {
  uint64_t records = 0, bytes = 0;
  auto put = [&](Kind kind, const std::string& data) {
    log_->append(kind_byte(kind), util::unix_ms(), data);
    ++records;
    bytes += data.size();
  };
  const uint64_t begin = log_->append(kind_byte(Kind::SnapshotBegin), util::unix_ms(), {});
  for (const auto& [client_id, s] : state_.sessions) {
    put(Kind::SessionOpen, encode_session_open(client_id, s));
    for (const auto& [filter, sub] : s.subscriptions) {
      put(Kind::Subscribe, encode_subscribe(client_id, filter, sub));
    }
    if (s.cursor) put(Kind::Cursor, encode_cursor(client_id, s.cursor));
  }
  for (const auto& [topic, msg] : state_.retained) put(Kind::Retain, encode_message(*msg));
  auto kept = kept_snapshot_;
  log_->append(kind_byte(Kind::SnapshotEnd), util::unix_ms(), {},
               [kept, begin](uint64_t, bool ok) {
                 if (ok) kept->store(begin);
               });
  last_snapshot_ = begin;
  snapshot_records_ = records;
  snapshot_bytes_ = bytes;
  appended_records_ = 0;
  appended_bytes_ = 0;
  ++snapshots_;
}

bool MessageStore::snapshot_due() const {
  return appended_records_ > std::max(kSnapshotFloorRecords, snapshot_records_) ||
         appended_bytes_ > std::max(options_.segment_bytes, snapshot_bytes_);
}

std::string MessageStore::problem() const {
  if (log_->directory_lost()) {
    return fmt::format("the data directory {} is gone or replaced: nothing can be stored",
                       options_.dir);
  }
  if (!log_->healthy()) return "the message log could not write (disk full?)";
  return {};
}

void MessageStore::maintain(int64_t now_ms) {
  // A removed or replaced data directory: every durable publish is refused from now on (the
  // log's writes fail); say so loudly, again every 10 s, until the broker is restarted.
  if (log_->check_directory() && now_ms - lost_reported_ms_ >= 10000) {
    lost_reported_ms_ = now_ms;
    log::error("event=store-directory-lost dir=\"{}\" note=\"the data directory was removed "
               "or replaced: durable publishes are refused and /healthz reports it; restart the "
               "broker on its real data directory\"", options_.dir);
  }
  uint64_t needed;
  {
    std::lock_guard lock(mutex_);
    const int64_t oldest_time = now_ms - options_.max_age_ms;
    for (auto& [key, index] : exchanges_) {
      auto& e = index.entries;
      while (!e.empty() && (e.front().time_ms < oldest_time || index.bytes > options_.max_exchange_bytes)) {
        index.bytes -= e.front().bytes;
        index.trimmed_to = e.front().sequence;
        index.trimmed_time_ms = e.front().time_ms;
        e.pop_front();
      }
    }
    // Segments before a durable snapshot hold nothing the state needs, so history retention
    // alone decides when they go.
    if (snapshot_due()) snapshot();
    needed = kept_snapshot_->load();
    for (const auto& [key, index] : exchanges_) {
      if (!index.entries.empty()) needed = std::min(needed, index.entries.front().sequence);
    }
  }
  if (const size_t dropped = log_->drop_before(needed)) {
    log::info("event=store-retention segments_deleted={} bytes={}", dropped, log_->bytes());
  }
}

}  // namespace hydrant::store
