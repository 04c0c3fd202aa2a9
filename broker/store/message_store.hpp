// MessageStore: the broker's durable store (README.md, "Durability, history and replay"; docs/operations-store.md). One
// SegmentLog in <data>/log holds the messages of exchanges and the state records (records.hpp);
// this class numbers and appends them, keeps what reads need in memory (a per-exchange index of
// sequences, the newest messages, a mirror of the durable state for snapshots), and applies
// retention. Thread-safe: event loops append, the HTTP API and subscribers read.
//
// Positions: "<epoch>-<sequence>". The epoch (16 hex digits, in <data>/log/EPOCH) is drawn when
// the log is created, so a position from a lost or replaced log is never mistaken for one of
// this log.
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "store/durable_store.hpp"
#include "store/records.hpp"
#include "store/segment_log.hpp"
#include "util/string_hash.hpp"

namespace hydrant::store {

struct StoreOptions {
  std::string dir;  // the log's directory, <data>/log
  Durability durability = Durability::Fsync;
  uint64_t segment_bytes = 64ull << 20;
  int64_t max_age_ms = 24ll * 3600 * 1000;        // history per exchange: by age
  uint64_t max_exchange_bytes = 256ull << 20;      // and by size
  std::function<int()> inject_write_error;         // tests only (SegmentLog's)
};

class MessageStore final : public DurableStore {
 public:
  // Opens (creating) the store and recovers it: the state as of the last records, the
  // per-exchange index and the newest messages. Throws StoreError for a log it must refuse.
  static std::unique_ptr<MessageStore> open(const StoreOptions& options);
  ~MessageStore() override;

  uint64_t epoch() const override { return epoch_; }
  std::string position(uint64_t sequence) const override;
  // Parses "<epoch>-<sequence>"; nullopt when malformed.
  static std::optional<std::pair<uint64_t, uint64_t>> parse_position(std::string_view text);
  // What recovery found, as one log line's fields.
  const std::string& recovery_report() const { return recovery_report_; }
  const DurableState& recovered_state() const override { return recovered_; }

  bool healthy() const override { return log_->healthy(); }
  std::string problem() const override;

  fanout::MessageRef append_message(const MessageFactory& make, int64_t now_ms,
                                    Completion done = {},
                                    std::span<const std::string> cc = {},
                                    const PublishOrigin& origin = {}) override;

  // ---- durable state (SessionStateLog) ----
  uint64_t session_open(std::string_view client_id, uint64_t incarnation,
                        codec::ProtocolVersion version, uint32_t expiry) override;
  void session_end(std::string_view client_id, uint64_t incarnation) override;
  uint64_t subscribe(std::string_view client_id, std::string_view filter,
                     const codec::SubscriptionOptions& options, uint32_t subscription_id) override;
  void unsubscribe(std::string_view client_id, std::string_view filter) override;
  void cursor(std::string_view client_id, uint64_t sequence) override;
  void retain(const fanout::MessageRef& msg) override;

  uint64_t last_sequence() const override;
  HistoryPage read(const HistoryQuery& q) const override;
  void scan(uint64_t after, const std::function<void(const StoredMessage&)>& visit) const override;
  std::vector<KeptExchange> kept_exchanges() const override;

  // History retention per exchange, old segments, a snapshot of the state when the log moved on
  // enough since the last one (snapshot_due()), and a check that the data directory is there.
  void maintain(int64_t now_ms) override;
  void flush() override { log_->flush(); }
  uint64_t bytes() const { return log_->bytes(); }
  // The log itself, for its metrics (SegmentLog's own accessors are thread-safe).
  const SegmentLog& segment_log() const { return *log_; }
  // Snapshots written since open (the one recovery may write included); for tests and metrics.
  uint64_t snapshots() const {
    std::lock_guard lock(mutex_);
    return snapshots_;
  }

 private:
  struct IndexEntry {
    uint64_t sequence;
    int64_t time_ms;
    uint32_t bytes;          // topic and payload: what retention by size counts
    uint32_t payload_bytes;  // what traffic counts (TopicActivity)
  };
  struct ExchangeIndex {
    std::deque<IndexEntry> entries;
    uint64_t bytes = 0;
    uint64_t trimmed_to = 0;       // the newest sequence retention removed (0: none)
    int64_t trimmed_time_ms = 0;   // and its time: a read from before it is not complete
  };

  explicit MessageStore(const StoreOptions& options);
  void recover();
  // What the first pass of recovery found (index_log).
  struct LogScan {
    uint64_t messages = 0, unreadable = 0;
    uint64_t snapshot_begin = 0;  // the last complete snapshot's first record; 0: none
    uint64_t snapshot_records = 0, snapshot_bytes = 0;  // its size
    uint64_t records_after = 0, bytes_after = 0;        // written after it
  };
  LogScan index_log();
  void load_epoch(bool log_was_empty);
  void index_message(const fanout::MessageRef& m, uint64_t sequence, int64_t time_ms);
  uint64_t append_state(Kind kind, std::string data);  // with mutex_ held
  void snapshot();                                     // with mutex_ held
  bool snapshot_due() const;                           // with mutex_ held
  std::vector<const ExchangeIndex*> indexes_for(std::string_view filter) const;  // mutex_ held
  std::vector<StoredMessage> candidates_for(const HistoryQuery& q, size_t budget, HistoryPage& page,
                                            uint64_t& last, bool& truncated) const;

  const StoreOptions options_;
  std::unique_ptr<SegmentLog> log_;
  uint64_t epoch_ = 0;
  std::string recovery_report_;
  DurableState recovered_;

  mutable std::mutex mutex_;  // everything below; appends take it so sequences are predictable
  DurableState state_;        // mirror of what the log says now, for snapshots
  std::unordered_map<std::string, ExchangeIndex, util::StringHash, std::equal_to<>> exchanges_;
  std::deque<StoredMessage> newest_;  // the newest messages, served without reading the disk
  uint64_t newest_bytes_ = 0;
  uint64_t last_snapshot_ = 0;    // sequence of the last SnapshotBegin appended
  uint64_t snapshot_records_ = 0;   // its size: state records and their bytes
  uint64_t snapshot_bytes_ = 0;
  uint64_t appended_records_ = 0;   // appended since, the snapshot itself not counted
  uint64_t appended_bytes_ = 0;
  uint64_t snapshots_ = 0;
  std::shared_ptr<std::atomic<uint64_t>> kept_snapshot_;  // last snapshot known durable: kept
  int64_t lost_reported_ms_ = 0;  // the last error line about a lost data directory
};

}  // namespace hydrant::store
