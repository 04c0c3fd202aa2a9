// SegmentLog: the store's append-only message log (docs/operations-store.md). Records go
// into segment files of a directory, each record CRC-32C-checked; a flusher thread of its own
// writes what accumulated and fsyncs it once per batch (group commit), then reports each
// record durable, so event loops never wait for the disk. On open it verifies every record,
// truncates a torn tail, rebuilds its index, and says what it found. Retention deletes whole
// old segments. A write error (a full disk) fails the records of that batch, keeps the log as it
// was before them, and the next batch tries again.
//
// Segment file: a 16-byte header ("HYDRSEG\0", u32 format, u32 zero), then records:
//   u32 length of what follows the checksum | u32 crc32c of it | u64 sequence | i64 time (ms)
//   | u8 kind | data
// all little-endian. Files are named by their first sequence number (20 digits, ".seg").
// MessageStore (message_store.hpp) gives the records their meaning.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace hydrant::store {

enum class Durability : uint8_t {
  Fsync,  // a record is reported durable after fdatasync of its batch (the default)
  Batch,  // after write(); fdatasync at most every 100 ms — a crash may lose the last batches
  None,   // after write(); never synced by us — a machine crash may lose anything unsynced
};

struct LogOptions {
  uint64_t segment_bytes = 64ull << 20;  // a new segment once the active one reaches this
  Durability durability = Durability::Fsync;
  // Tests only: called before each write; returning an errno value (ENOSPC) fails that write
  // as the disk would.
  std::function<int()> inject_write_error;
};

struct StoreError : std::runtime_error {
  using runtime_error::runtime_error;
};

// What open() found, for its one log line.
struct Recovery {
  uint64_t segments = 0;
  uint64_t records = 0;
  uint64_t truncated_bytes = 0;  // a torn or corrupted tail cut off the last segment
  // Where that cut was, for the log line that names what was dropped: the file, the offset the
  // tail started at, the last record kept before it, and whether the tail held a whole record
  // whose checksum failed (damage to written, maybe acknowledged data) rather than a torn write.
  std::string cut_file;
  uint64_t cut_offset = 0;
  uint64_t cut_after_sequence = 0;
  bool cut_damaged = false;
  std::string cut_saved_to;  // the cut bytes, kept aside under <dir>/damaged/
  uint64_t first_sequence = 0;   // 0 when empty
  uint64_t next_sequence = 1;
};

// The fsync latency histogram's upper bounds, in seconds; one more bucket (+Inf) follows.
inline constexpr std::array<double, 9> kFsyncBuckets{0.0001, 0.0005, 0.001, 0.005, 0.01,
                                                     0.05,   0.1,    0.5,   1};

// The log's figures for /metrics, read at once (SegmentLog::metrics()).
struct LogMetrics {
  uint64_t bytes = 0;     // on disk, headers included
  uint64_t segments = 0;
  uint64_t first_sequence = 0;  // the oldest record kept; 0 when empty
  uint64_t appends = 0;         // records appended since open, of any kind
  uint64_t write_failures = 0;  // batches whose write or sync failed (their records refused)
  // Syncs per latency bucket (not cumulative), the last one above kFsyncBuckets.back().
  std::array<uint64_t, kFsyncBuckets.size() + 1> fsync_buckets{};
  uint64_t fsyncs = 0;
  double fsync_seconds = 0;  // their total time
};

struct Record {
  uint64_t sequence = 0;
  int64_t time_ms = 0;
  uint8_t kind = 0;
  std::string_view data;  // valid during the visitor call only
};

class SegmentLog {
 public:
  // Called on the flusher thread once the record is durable (ok) or failed (not written).
  using Completion = std::function<void(uint64_t sequence, bool ok)>;

  // Opens (creating) the log in `dir` and recovers it. A segment of another format, a corrupted
  // record before the last segment's tail, or sequence numbers that do not increase throw StoreError with a
  // message naming the file: such a directory is refused, never misread. Sequences increase
  // strictly within and across segments (they may skip numbers a failed write used).
  static std::unique_ptr<SegmentLog> open(const std::string& dir, LogOptions options,
                                          Recovery& recovery);
  ~SegmentLog();  // writes and syncs what is pending, then stops the flusher
  SegmentLog(const SegmentLog&) = delete;
  SegmentLog& operator=(const SegmentLog&) = delete;

  // Queues a record and returns its sequence number; `done` (may be empty) runs later on the
  // flusher thread. Thread-safe, never blocks on the disk.
  uint64_t append(uint8_t kind, int64_t time_ms, std::string_view data, Completion done = {});
  // Blocks until everything appended so far is written and, with Fsync, synced (tests, shutdown).
  void flush();

  // Calls `visit` for durable records with sequence >= from, in order, at most `max` of them;
  // returns how many. With `want`, a record it refuses (by sequence and kind, from the index)
  // is skipped without reading the disk. Thread-safe.
  using Wanted = std::function<bool(uint64_t sequence, uint8_t kind)>;
  size_t read(uint64_t from, size_t max, const std::function<void(const Record&)>& visit,
              const Wanted& want = {}) const;
  // Calls `visit` with the sequence and kind of every record, in order, from the in-memory
  // index only (no disk reads). Thread-safe.
  void visit_index(const std::function<void(uint64_t sequence, uint8_t kind)>& visit) const;

  uint64_t first_sequence() const;  // oldest record kept; 0 when empty
  uint64_t next_sequence() const;   // the sequence the next append gets
  // False after a failed write, until a write succeeds; true again for one try a second after
  // the failure, so that a caller refusing writes while unhealthy still finds out when the
  // disk has room again.
  bool healthy() const;
  // Whether the directory the log was opened in is gone or replaced (rm -rf, a moved mount) or
  // the active segment was unlinked: from then on every write fails, for good — what would be
  // written no longer reaches the path a restart reads. Checked before each batch and by
  // check_directory(); healthy() is false from then on.
  bool directory_lost() const { return lost_.load(std::memory_order_relaxed); }
  // Checks now (a stat of the path against the open directory); returns directory_lost().
  bool check_directory();
  uint64_t bytes() const;           // on disk, headers included
  // Thread-safe and never waits for the disk: while the flusher holds the segments (writing or
  // syncing), the segment figures are the last ones read (/metrics is served on a host's loop).
  LogMetrics metrics() const;

  // Retention: deletes whole segments, oldest first, while their newest record is older than
  // `min_time_ms` or the log is larger than `max_bytes`; never the segment being written.
  // Returns how many segments went.
  size_t retain(int64_t min_time_ms, uint64_t max_bytes);
  // Deletes whole segments, oldest first, whose records all precede `sequence` (what nothing
  // needs any more); never the segment being written. Returns how many went.
  size_t drop_before(uint64_t sequence);

 private:
  // A record's sequence, and its offset and kind packed in one word (offsets stay below 2^56),
  // so that the index of a large log stays 16 bytes a record.
  struct IndexEntry {
    uint64_t sequence;
    uint64_t packed;
    IndexEntry(uint64_t seq, uint64_t offset, uint8_t kind)
        : sequence(seq), packed(offset | (uint64_t{kind} << 56)) {}
    uint64_t offset() const { return packed & ((uint64_t{1} << 56) - 1); }
    uint8_t kind() const { return static_cast<uint8_t>(packed >> 56); }
  };
  struct Segment {
    uint64_t first_sequence = 0;
    std::string path;
    int fd = -1;
    uint64_t size = 0;                 // bytes, header included
    int64_t last_time_ms = 0;
    bool dirty_tail = false;  // a failed write left bytes past `size` that are not cut yet
    // Each record, by increasing sequence. Sequences may skip: a batch that failed to write (a
    // full disk) keeps its numbers, which are never reused.
    std::vector<IndexEntry> index;
  };
  struct Pending {
    std::string bytes;  // encoded records of one batch
    std::vector<std::pair<uint64_t, Completion>> completions;
    std::vector<std::pair<uint64_t, int64_t>> records;  // sequence, time: for the index
  };

  SegmentLog(std::string dir, LogOptions options);
  void recover(Recovery& r);
  std::string read_segment(const Segment& s, bool last);
  void scan_segment(Segment& s, bool last, Recovery& r);
  void cut_damaged_tail(Segment& s, bool last, const std::string& data, size_t at,
                        uint64_t last_sequence, bool whole_record_damaged, Recovery& r);
  void start_segment(uint64_t first_sequence);
  void run_flusher();
  bool write_batch(Pending& batch);
  bool lost_now() const;  // the checks behind check_directory(), without side effects
  void note_fsync(std::chrono::steady_clock::duration took);
  void set_aside(const Segment& s, const std::string& data, size_t from, Recovery& r);

  const std::string dir_;
  const LogOptions options_;

  // Two locks, so that append() (the event loops) never waits for the disk: mutex_ guards what
  // append touches; segments_mutex_ the files, held by the flusher while it writes and syncs,
  // and by readers and retention.
  mutable std::mutex mutex_;  // next_sequence_, pending_, healthy_, settled_
  std::condition_variable wake_;
  std::condition_variable flushed_;
  uint64_t next_sequence_ = 1;
  Pending pending_;
  std::atomic<uint64_t> durable_{0};  // every record up to this sequence is durable
  mutable std::mutex segments_mutex_;
  std::vector<Segment> segments_;  // oldest first; the last one is written
  bool stopping_ = false;
  uint64_t settled_ = 0;  // every record up to here is written or failed, its completion run
  bool healthy_ = true;
  std::chrono::steady_clock::time_point failed_at_{};
  std::thread flusher_;
  int dir_fd_ = -1;  // the directory as opened: compared with what the path names now
  std::atomic<bool> lost_{false};

  // Metrics: relaxed atomics, so that append() and the flusher pay one uncontended add; the
  // fsync figures are written by the flusher only.
  std::atomic<uint64_t> appends_{0};
  std::atomic<uint64_t> write_failures_{0};
  std::array<std::atomic<uint64_t>, kFsyncBuckets.size() + 1> fsync_buckets_{};
  std::atomic<uint64_t> fsync_nanos_{0};
  mutable std::mutex segment_figures_mutex_;  // the last segment figures metrics() read
  mutable LogMetrics segment_figures_;
};

}  // namespace hydrant::store
