// SegmentLog: files, recovery, group commit, reads and retention. See segment_log.hpp.
#include "store/segment_log.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <optional>

#include <fmt/format.h>

#include "store/crc32c.hpp"
#include "store/segment_format.hpp"
#include "util/log.hpp"
#include "util/wall_clock.hpp"

namespace hydrant::store {

using format::kFrameSize;
using format::kHeaderSize;
using format::kMagic;
using format::kRecordFixed;
using format::load;
using format::put;

namespace {

constexpr const char* kRunRepair =
    "; run `hydrant store check` (with this broker's --data) to see what is damaged, then "
    "`hydrant store repair` to set it aside and keep every intact record";

std::string errno_text() { return std::strerror(errno); }

std::string segment_name(uint64_t first_sequence) { return fmt::format("{:020}.seg", first_sequence); }

void encode(std::string& out, uint64_t sequence, int64_t time_ms, uint8_t kind, std::string_view data) {
  const auto length = static_cast<uint32_t>(kRecordFixed + data.size());
  const size_t at = out.size();
  put(out, length);
  put(out, uint32_t{0});  // checksum, filled below
  put(out, sequence);
  put(out, time_ms);
  out.push_back(static_cast<char>(kind));
  out.append(data);
  const uint32_t crc = crc32c(out.data() + at + kFrameSize, length);
  std::memcpy(out.data() + at + 4, &crc, sizeof crc);
}

// pwrite at an explicit offset: after a failed write the next batch lands where the log ends,
// whatever the failed one left behind the file position.
bool write_at(int fd, const char* p, size_t n, uint64_t offset) {
  while (n > 0) {
    const ssize_t w = ::pwrite(fd, p, n, static_cast<off_t>(offset));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
    offset += static_cast<uint64_t>(w);
  }
  return true;
}

bool read_all(int fd, std::string& out, uint64_t size) {
  out.resize(size);
  size_t done = 0;
  while (done < size) {
    const ssize_t r = ::pread(fd, out.data() + done, size - done, static_cast<off_t>(done));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    done += static_cast<size_t>(r);
  }
  return true;
}

void sync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

// The offset of a record with a valid checksum and a sequence above `after` somewhere from
// `from` on, if there is one: found by looking for the sequences that would follow, then
// checking the frame around them.
std::optional<size_t> intact_record_after(const std::string& data, size_t from, uint64_t after) {
  for (uint64_t next = after + 1; next <= after + 64; ++next) {
    const std::string_view needle(reinterpret_cast<const char*>(&next), sizeof next);
    for (size_t pos = data.find(needle, from + kFrameSize); pos != std::string::npos;
         pos = data.find(needle, pos + 1)) {
      const size_t at = pos - kFrameSize;
      const auto length = load<uint32_t>(data.data() + at);
      if (length < kRecordFixed || length > data.size() - pos) continue;
      if (crc32c(data.data() + pos, length) == load<uint32_t>(data.data() + at + 4)) return at;
    }
  }
  return std::nullopt;
}

}  // namespace

SegmentLog::SegmentLog(std::string dir, LogOptions options)
    : dir_(std::move(dir)), options_(std::move(options)) {}

std::unique_ptr<SegmentLog> SegmentLog::open(const std::string& dir, LogOptions options,
                                             Recovery& recovery) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    throw StoreError(fmt::format("{}: {}", dir, errno_text()));
  }
  std::unique_ptr<SegmentLog> log(new SegmentLog(dir, std::move(options)));
  log->dir_fd_ = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (log->dir_fd_ < 0) throw StoreError(fmt::format("{}: {}", dir, errno_text()));
  log->recover(recovery);
  log->flusher_ = std::thread([raw = log.get()] { raw->run_flusher(); });
  return log;
}

SegmentLog::~SegmentLog() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (flusher_.joinable()) flusher_.join();
  for (auto& s : segments_) {
    if (s.fd >= 0) ::close(s.fd);
  }
  if (dir_fd_ >= 0) ::close(dir_fd_);
}

void SegmentLog::recover(Recovery& r) {
  std::vector<std::string> names;
  if (DIR* d = ::opendir(dir_.c_str())) {
    while (const dirent* e = ::readdir(d)) {
      const std::string_view name = e->d_name;
      if (name.size() == 24 && name.ends_with(".seg")) names.emplace_back(name);
    }
    ::closedir(d);
  } else {
    throw StoreError(fmt::format("{}: {}", dir_, errno_text()));
  }
  std::sort(names.begin(), names.end());  // 20-digit names sort by sequence
  for (size_t i = 0; i < names.size(); ++i) {
    Segment s;
    s.path = dir_ + "/" + names[i];
    s.first_sequence = std::stoull(names[i].substr(0, 20));
    s.fd = ::open(s.path.c_str(), O_RDWR | O_CLOEXEC);
    if (s.fd < 0) throw StoreError(fmt::format("{}: {}", s.path, errno_text()));
    segments_.push_back(std::move(s));
    scan_segment(segments_.back(), i + 1 == names.size(), r);
  }
  r.segments = segments_.size();
  if (segments_.empty()) start_segment(1);
  r.next_sequence = next_sequence_;
  durable_.store(next_sequence_ - 1);
  settled_ = next_sequence_ - 1;
  for (const auto& s : segments_) {
    if (!s.index.empty()) {
      r.first_sequence = s.index.front().sequence;
      break;
    }
  }
}

// A segment file's bytes, its header checked; empty for a last segment whose header was torn
// at creation (rewritten by scan_segment).
std::string SegmentLog::read_segment(const Segment& s, bool last) {
  struct stat st {};
  if (::fstat(s.fd, &st) != 0) throw StoreError(fmt::format("{}: {}", s.path, errno_text()));
  std::string data;
  if (!read_all(s.fd, data, static_cast<uint64_t>(st.st_size))) {
    throw StoreError(fmt::format("{}: cannot read: {}", s.path, errno_text()));
  }
  if (data.size() < kHeaderSize || std::memcmp(data.data(), kMagic, sizeof kMagic) != 0) {
    if (last && data.size() < kHeaderSize &&
        std::memcmp(data.data(), kMagic, std::min(sizeof kMagic, data.size())) == 0) {
      return {};  // a header torn at creation
    }
    throw StoreError(fmt::format("{}: not a hydrant segment{}", s.path, kRunRepair));
  }
  const auto version = load<uint32_t>(data.data() + 8);
  if (version != format::kFormat) {
    throw StoreError(fmt::format("{}: segment format {} is not one this hydrant reads ({}); "
                                 "refusing to guess", s.path, version, format::kFormat));
  }
  return data;
}

// Verifies one segment and indexes it. The last segment may end in a torn or corrupted record
// (a crash during a write): it is cut there, the cut bytes kept aside. Anywhere else that is
// damage we refuse to guess at: the operator runs `hydrant store check` and `store repair`.
void SegmentLog::scan_segment(Segment& s, bool last, Recovery& r) {
  const std::string data = read_segment(s, last);
  size_t at = data.empty() ? 0 : kHeaderSize;
  // The name promises records from first_sequence on: an empty segment (rotated, then a crash)
  // still moves the numbering there, so the next record fits the file it lands in.
  uint64_t last_sequence = std::max(next_sequence_ - 1, s.first_sequence - 1);
  std::optional<format::Frame> damage;
  while (at < data.size()) {
    const format::Parsed p = format::parse(data, at);
    if (p.frame != format::Frame::Intact) {
      damage = p.frame;
      break;
    }
    if (p.sequence <= last_sequence || p.sequence < s.first_sequence) {
      throw StoreError(fmt::format("{}: sequence {} after {} at offset {}: the log is out of "
                                   "order{}", s.path, p.sequence, last_sequence, at, kRunRepair));
    }
    s.index.emplace_back(p.sequence, at, p.kind);
    s.last_time_ms = p.time_ms;
    last_sequence = p.sequence;
    ++r.records;
    at += kFrameSize + p.length;
  }
  if (damage) cut_damaged_tail(s, last, data, at, last_sequence, *damage == format::Frame::BadChecksum, r);
  if (at == 0) {  // an empty or header-torn last segment: write its header again
    const std::string header = format::header();
    if (::ftruncate(s.fd, 0) != 0 || ::pwrite(s.fd, header.data(), header.size(), 0) != static_cast<ssize_t>(header.size()) || ::fsync(s.fd) != 0) {
      throw StoreError(fmt::format("{}: cannot rewrite its header: {}", s.path, errno_text()));
    }
    at = kHeaderSize;
  }
  s.size = at;
  next_sequence_ = last_sequence + 1;
}

// Damage at `at`: the end of the last segment is cut there (the bytes kept aside, the cut
// logged); damage anywhere else, or followed by intact records, stops recovery.
void SegmentLog::cut_damaged_tail(Segment& s, bool last, const std::string& data, size_t at,
                                  uint64_t last_sequence, bool whole_record_damaged, Recovery& r) {
  const char* damage = whole_record_damaged ? "a record whose checksum does not match" : "a torn record";
  if (!last) {
    throw StoreError(fmt::format("{}: {} at offset {} (after sequence {}){}", s.path, damage, at,
                                 last_sequence, kRunRepair));
  }
  // A crash tears only the end; intact records after the damage mean the disk corrupted
  // something in the middle, and cutting there would silently drop them.
  if (const auto intact = intact_record_after(data, at + 1, last_sequence)) {
    throw StoreError(fmt::format("{}: {} at offset {} (after sequence {}), with intact records "
                                 "after it (offset {}): damage in the middle of the log; "
                                 "refusing to cut it{}",
                                 s.path, damage, at, last_sequence, *intact, kRunRepair));
  }
  r.truncated_bytes += data.size() - at;
  r.cut_file = s.path;
  r.cut_offset = at;
  r.cut_after_sequence = last_sequence;
  r.cut_damaged = whole_record_damaged;
  set_aside(s, data, at, r);
  // A crash mid-append tears the last write (never acknowledged: a warning); a whole record
  // whose checksum fails was written, maybe acknowledged: an error. Both say what went.
  const std::string what = fmt::format(
      "file=\"{}\" offset={} bytes={} dropped=\"sequences after {} (bytes {}-{} of the "
      "segment)\" kept_aside=\"{}\"",
      s.path, at, data.size() - at, last_sequence, at, data.size(), r.cut_saved_to);
  if (whole_record_damaged) {
    log::error("event=store-damaged-tail-cut {} note=\"a written record failed its checksum: "
               "acknowledged data may be lost\"", what);
  } else {
    log::warn("event=store-torn-tail-cut {} note=\"the last write was torn (a crash "
              "mid-append)\"", what);
  }
  if (::ftruncate(s.fd, static_cast<off_t>(at)) != 0 || ::fsync(s.fd) != 0) {
    throw StoreError(fmt::format("{}: cannot truncate: {}", s.path, errno_text()));
  }
}

// Keeps the bytes recovery cuts off in <dir>/damaged/<time>/<segment>.tail: a cut never deletes.
void SegmentLog::set_aside(const Segment& s, const std::string& data, size_t from, Recovery& r) {
  const std::string aside = fmt::format("{}/damaged/{}", dir_, util::unix_ms());
  std::error_code ec;
  std::filesystem::create_directories(aside, ec);
  const std::string path =
      fmt::format("{}/{}.tail-at-{}", aside, s.path.substr(s.path.rfind('/') + 1), from);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (ec || fd < 0 || !write_at(fd, data.data() + from, data.size() - from, 0) || ::fsync(fd) != 0) {
    if (fd >= 0) ::close(fd);
    throw StoreError(fmt::format("{}: cannot keep the cut tail aside in {}: {}", s.path, aside,
                                 ec ? ec.message() : errno_text()));
  }
  ::close(fd);
  sync_dir(aside);
  r.cut_saved_to = path;
}

void SegmentLog::start_segment(uint64_t first_sequence) {
  Segment s;
  s.first_sequence = first_sequence;
  s.path = dir_ + "/" + segment_name(first_sequence);
  s.fd = ::open(s.path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (s.fd < 0) throw StoreError(fmt::format("{}: {}", s.path, errno_text()));
  const std::string header = format::header();
  if (!write_at(s.fd, header.data(), header.size(), 0) || ::fsync(s.fd) != 0) {
    const std::string why = errno_text();
    ::close(s.fd);
    ::unlink(s.path.c_str());
    throw StoreError(fmt::format("{}: {}", s.path, why));
  }
  sync_dir(dir_);
  s.size = kHeaderSize;
  segments_.push_back(std::move(s));
}

uint64_t SegmentLog::append(uint8_t kind, int64_t time_ms, std::string_view data, Completion done) {
  uint64_t sequence;
  bool was_empty;
  {
    std::lock_guard lock(mutex_);
    sequence = next_sequence_++;
    was_empty = pending_.records.empty();
    encode(pending_.bytes, sequence, time_ms, kind, data);
    pending_.records.emplace_back(sequence, time_ms);
    if (done) pending_.completions.emplace_back(sequence, std::move(done));
  }
  appends_.fetch_add(1, std::memory_order_relaxed);
  if (was_empty) wake_.notify_one();
  return sequence;
}

void SegmentLog::flush() {
  std::unique_lock lock(mutex_);
  const uint64_t target = next_sequence_ - 1;
  flushed_.wait(lock, [&] { return settled_ >= target; });
}

void SegmentLog::run_flusher() {
  auto last_sync = std::chrono::steady_clock::now();
  for (;;) {
    Pending batch;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !pending_.records.empty(); });
      if (pending_.records.empty()) return;  // stopping, nothing left
      std::swap(batch, pending_);
    }
    bool ok;
    {
      std::lock_guard files(segments_mutex_);
      // Written into a directory that is gone, a record would be acknowledged and then lost.
      if (!lost_.load(std::memory_order_relaxed) && lost_now()) lost_.store(true);
      ok = !lost_.load(std::memory_order_relaxed) && write_batch(batch);
      const auto now = std::chrono::steady_clock::now();
      const bool sync = options_.durability == Durability::Fsync ||
                        (options_.durability == Durability::Batch &&
                         now - last_sync >= std::chrono::milliseconds(100));
      if (ok && sync) {
        ok = ::fdatasync(segments_.back().fd) == 0;
        note_fsync(std::chrono::steady_clock::now() - now);
        last_sync = now;
      }
      if (ok) durable_.store(batch.records.back().first);
    }
    if (!ok) write_failures_.fetch_add(1, std::memory_order_relaxed);
    for (auto& [sequence, done] : batch.completions) done(sequence, ok);
    {
      std::lock_guard lock(mutex_);
      healthy_ = ok;
      if (!ok) failed_at_ = std::chrono::steady_clock::now();
      settled_ = batch.records.back().first;
    }
    flushed_.notify_all();
  }
}

// Writes one batch at the end of the active segment (starting a new one first when it is full).
// On failure the segment is cut back to where it was, so a half-written batch never stays.
bool SegmentLog::write_batch(Pending& batch) {
  Segment& active = segments_.back();
  if (active.dirty_tail) {
    // A failed write left bytes past the end that could not be cut: cut them before anything
    // follows, or recovery would take them for damage in the middle of the log.
    if (::ftruncate(active.fd, static_cast<off_t>(active.size)) != 0) return false;
    active.dirty_tail = false;
  }
  if (active.size >= options_.segment_bytes) {
    try {
      start_segment(batch.records.front().first);
    } catch (const StoreError&) {
      return false;
    }
  }
  Segment& s = segments_.back();
  const int injected = options_.inject_write_error ? options_.inject_write_error() : 0;
  if (injected != 0 || !write_at(s.fd, batch.bytes.data(), batch.bytes.size(), s.size)) {
    s.dirty_tail = ::ftruncate(s.fd, static_cast<off_t>(s.size)) != 0;
    return false;
  }
  uint64_t at = s.size;
  for (const auto& [sequence, time_ms] : batch.records) {
    const auto kind = static_cast<uint8_t>(batch.bytes[at - s.size + kFrameSize + 16]);
    s.index.emplace_back(sequence, at, kind);
    s.last_time_ms = time_ms;
    at += kFrameSize + load<uint32_t>(batch.bytes.data() + (at - s.size));
  }
  s.size += batch.bytes.size();
  return true;
}

size_t SegmentLog::read(uint64_t from, size_t max, const std::function<void(const Record&)>& visit,
                        const Wanted& want) const {
  std::lock_guard lock(segments_mutex_);
  const uint64_t durable = durable_.load();
  size_t n = 0;
  std::string buf;
  for (const auto& s : segments_) {
    if (n == max) break;
    if (s.index.empty() || s.index.back().sequence < from) continue;
    auto it = std::lower_bound(s.index.begin(), s.index.end(), from,
                               [](const IndexEntry& e, uint64_t v) { return e.sequence < v; });
    for (; it != s.index.end() && n < max && it->sequence <= durable; ++it) {
      if (want && !want(it->sequence, it->kind())) continue;
      const uint64_t end = std::next(it) != s.index.end() ? std::next(it)->offset() : s.size;
      buf.resize(end - it->offset());
      if (::pread(s.fd, buf.data(), buf.size(), static_cast<off_t>(it->offset())) !=
          static_cast<ssize_t>(buf.size())) {
        return n;
      }
      Record r;
      r.sequence = load<uint64_t>(buf.data() + kFrameSize);
      r.time_ms = load<int64_t>(buf.data() + kFrameSize + 8);
      r.kind = static_cast<uint8_t>(buf[kFrameSize + 16]);
      r.data = std::string_view(buf).substr(kFrameSize + kRecordFixed);
      visit(r);
      ++n;
    }
  }
  return n;
}

void SegmentLog::visit_index(const std::function<void(uint64_t, uint8_t)>& visit) const {
  std::lock_guard lock(segments_mutex_);
  for (const auto& s : segments_) {
    for (const auto& e : s.index) visit(e.sequence, e.kind());
  }
}

uint64_t SegmentLog::first_sequence() const {
  std::lock_guard lock(segments_mutex_);
  for (const auto& s : segments_) {
    if (!s.index.empty()) return s.index.front().sequence;
  }
  return 0;
}

uint64_t SegmentLog::next_sequence() const {
  std::lock_guard lock(mutex_);
  return next_sequence_;
}

bool SegmentLog::healthy() const {
  if (lost_.load(std::memory_order_relaxed)) return false;
  std::lock_guard lock(mutex_);
  return healthy_ || std::chrono::steady_clock::now() - failed_at_ >= std::chrono::seconds(1);
}

bool SegmentLog::lost_now() const {
  struct stat opened {}, named {}, active {};
  if (::fstat(dir_fd_, &opened) != 0 || opened.st_nlink == 0) return true;  // removed
  if (::stat(dir_.c_str(), &named) != 0) return errno == ENOENT || errno == ENOTDIR;
  if (named.st_dev != opened.st_dev || named.st_ino != opened.st_ino) return true;  // replaced
  return !segments_.empty() && ::fstat(segments_.back().fd, &active) == 0 && active.st_nlink == 0;
}

bool SegmentLog::check_directory() {
  if (lost_.load(std::memory_order_relaxed)) return true;
  std::lock_guard lock(segments_mutex_);
  if (lost_now()) lost_.store(true);
  return lost_.load(std::memory_order_relaxed);
}

void SegmentLog::note_fsync(std::chrono::steady_clock::duration took) {
  const double seconds = std::chrono::duration<double>(took).count();
  size_t bucket = 0;
  while (bucket < kFsyncBuckets.size() && seconds > kFsyncBuckets[bucket]) ++bucket;
  fsync_buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  fsync_nanos_.fetch_add(static_cast<uint64_t>(std::chrono::nanoseconds(took).count()),
                         std::memory_order_relaxed);
}

LogMetrics SegmentLog::metrics() const {
  LogMetrics m;
  {
    std::lock_guard figures(segment_figures_mutex_);
    std::unique_lock lock(segments_mutex_, std::try_to_lock);
    if (lock.owns_lock()) {
      segment_figures_ = LogMetrics{};
      segment_figures_.segments = segments_.size();
      for (const auto& s : segments_) {
        segment_figures_.bytes += s.size;
        if (segment_figures_.first_sequence == 0 && !s.index.empty()) {
          segment_figures_.first_sequence = s.index.front().sequence;
        }
      }
    }
    m.segments = segment_figures_.segments;
    m.bytes = segment_figures_.bytes;
    m.first_sequence = segment_figures_.first_sequence;
  }
  m.appends = appends_.load(std::memory_order_relaxed);
  m.write_failures = write_failures_.load(std::memory_order_relaxed);
  for (size_t i = 0; i < fsync_buckets_.size(); ++i) {
    m.fsync_buckets[i] = fsync_buckets_[i].load(std::memory_order_relaxed);
    m.fsyncs += m.fsync_buckets[i];
  }
  m.fsync_seconds = static_cast<double>(fsync_nanos_.load(std::memory_order_relaxed)) / 1e9;
  return m;
}

uint64_t SegmentLog::bytes() const {
  std::lock_guard lock(segments_mutex_);
  uint64_t total = 0;
  for (const auto& s : segments_) total += s.size;
  return total;
}

size_t SegmentLog::retain(int64_t min_time_ms, uint64_t max_bytes) {
  std::lock_guard lock(segments_mutex_);
  uint64_t total = 0;
  for (const auto& s : segments_) total += s.size;
  size_t removed = 0;
  while (segments_.size() > 1) {
    Segment& oldest = segments_.front();
    if (oldest.last_time_ms >= min_time_ms && total <= max_bytes) break;
    ::close(oldest.fd);
    ::unlink(oldest.path.c_str());
    total -= oldest.size;
    segments_.erase(segments_.begin());
    ++removed;
  }
  if (removed) sync_dir(dir_);
  return removed;
}

size_t SegmentLog::drop_before(uint64_t sequence) {
  std::lock_guard lock(segments_mutex_);
  size_t removed = 0;
  while (segments_.size() > 1) {
    Segment& oldest = segments_.front();
    // The next segment's first sequence bounds this one's records, written or failed.
    if (segments_[1].first_sequence > sequence) break;
    ::close(oldest.fd);
    ::unlink(oldest.path.c_str());
    segments_.erase(segments_.begin());
    ++removed;
  }
  if (removed) sync_dir(dir_);
  return removed;
}

}  // namespace hydrant::store
