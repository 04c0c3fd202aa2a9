// The segment log on real files in a temporary directory: round trip, group commit, reopen,
// torn and corrupted tails, damage elsewhere refused, another format refused, rotation,
// retention, and a failed write (a full disk, injected) that loses nothing acknowledged.
#include <doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "store/crc32c.hpp"
#include "store/segment_log.hpp"
#include "temp_dir.hpp"

using namespace hydrant::store;
using hydrant::test::TempDir;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> all(const SegmentLog& log, uint64_t from = 1) {
  std::vector<std::string> out;
  log.read(from, 1000000, [&](const Record& r) { out.emplace_back(r.data); });
  return out;
}

// Damage on disk, as a bad sector or a stray write would leave it.
void overwrite(const std::string& file, uint64_t offset, std::string_view bytes) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::vector<std::string> segments(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("crc32c matches the standard check value") {
  CHECK(crc32c("123456789", 9) == 0xE3069283u);
  CHECK(crc32c("", 0) == 0u);
  CHECK(crc32c("56789", 5, crc32c("1234", 4)) == 0xE3069283u);  // continues
}

TEST_CASE("append, group commit, read back in order") {
  TempDir dir;
  Recovery r;
  auto log = SegmentLog::open(dir.log(), {}, r);
  CHECK(r.records == 0);
  CHECK(r.next_sequence == 1);
  std::atomic<int> durable{0};
  std::set<uint64_t> seen;
  std::mutex m;
  for (int i = 0; i < 500; ++i) {
    const auto seq = log->append(1, 1000 + i, "message " + std::to_string(i), [&](uint64_t s, bool ok) {
      CHECK(ok);
      std::lock_guard lock(m);
      seen.insert(s);
      ++durable;
    });
    CHECK(seq == static_cast<uint64_t>(i + 1));
  }
  log->flush();
  CHECK(durable == 500);
  CHECK(seen.size() == 500);
  const auto got = all(*log);
  REQUIRE(got.size() == 500);
  CHECK(got.front() == "message 0");
  CHECK(got.back() == "message 499");
  CHECK(log->read(250, 3, [&](const Record& rec) {
    CHECK(rec.kind == 1);
    CHECK(rec.time_ms == 1000 + static_cast<int64_t>(rec.sequence) - 1);
  }) == 3);
  CHECK(log->read(501, 10, [](const Record&) {}) == 0);
  CHECK(log->healthy());
}

TEST_CASE("reopen recovers every record and continues the numbering") {
  TempDir dir;
  {
    Recovery r;
    auto log = SegmentLog::open(dir.log(), {}, r);
    for (int i = 0; i < 10; ++i) log->append(2, i, std::string(100, static_cast<char>('a' + i)));
    log->flush();
  }
  Recovery r;
  auto log = SegmentLog::open(dir.log(), {}, r);
  CHECK(r.records == 10);
  CHECK(r.truncated_bytes == 0);
  CHECK(r.first_sequence == 1);
  CHECK(r.next_sequence == 11);
  CHECK(log->append(2, 11, "eleventh") == 11);
  log->flush();
  CHECK(all(*log).size() == 11);
}

TEST_CASE("a torn tail is cut off, a corrupted last record too") {
  TempDir dir;
  {
    Recovery r;
    auto log = SegmentLog::open(dir.log(), {}, r);
    for (int i = 0; i < 5; ++i) log->append(1, i, "record-" + std::to_string(i));
    log->flush();
  }
  const auto file = segments(dir.log()).front();
  const auto full = fs::file_size(file);
  SUBCASE("torn") {
    fs::resize_file(file, full - 3);  // a crash in the middle of the last write
    Recovery r;
    auto log = SegmentLog::open(dir.log(), {}, r);
    CHECK(r.records == 4);
    CHECK(r.truncated_bytes > 0);
    CHECK(all(*log).back() == "record-3");
    CHECK(log->append(1, 9, "after") == 5);  // the lost number is reused: it was never durable
    log->flush();
    CHECK(all(*log).back() == "after");
  }
  SUBCASE("corrupted") {
    overwrite(file, full - 2, "X");
    Recovery r;
    auto log = SegmentLog::open(dir.log(), {}, r);
    CHECK(r.records == 4);
    CHECK(all(*log).size() == 4);
  }
}

TEST_CASE("damage before the last segment, or another format, is refused") {
  TempDir dir;
  LogOptions small;
  small.segment_bytes = 200;
  {
    Recovery r;
    auto log = SegmentLog::open(dir.log(), small, r);
    for (int i = 0; i < 20; ++i) {
      log->append(1, i, std::string(60, 'x'));
      log->flush();  // one batch each: segments rotate at 200 bytes
    }
  }
  const auto files = segments(dir.log());
  REQUIRE(files.size() > 3);
  {
    Recovery r;
    auto log = SegmentLog::open(dir.log(), small, r);
    CHECK(r.segments == files.size());
    CHECK(r.records == 20);
    CHECK(all(*log).size() == 20);
  }
  SUBCASE("corrupted middle segment") {
    overwrite(files[1], 40, "!");
    Recovery r;
    CHECK_THROWS_AS(SegmentLog::open(dir.log(), small, r), StoreError);
  }
  SUBCASE("format 2") {
    overwrite(files[0], 8, std::string_view("\x02\0\0\0", 4));  // format 2, little-endian
    Recovery r;
    try {
      SegmentLog::open(dir.log(), small, r);
      FAIL("opened a format-2 segment");
    } catch (const StoreError& e) {
      CHECK(std::string(e.what()).find("format 2") != std::string::npos);
    }
  }
}

TEST_CASE("retention deletes whole old segments, never the active one") {
  TempDir dir;
  LogOptions small;
  small.segment_bytes = 300;
  Recovery r;
  auto log = SegmentLog::open(dir.log(), small, r);
  for (int i = 0; i < 30; ++i) {
    log->append(1, 1000 + i, std::string(80, 'y'));
    log->flush();
  }
  const auto before = segments(dir.log()).size();
  REQUIRE(before > 5);
  CHECK(log->retain(1010, UINT64_MAX) > 0);  // by age: segments whose newest record < 1010
  CHECK(log->first_sequence() > 1);
  const auto first = log->first_sequence();
  const auto kept = all(*log, 0);
  CHECK(kept.size() == 30 - (first - 1));
  const auto remaining = segments(dir.log()).size();
  CHECK(log->retain(0, 1) == remaining - 1);  // by size: all but the active one
  CHECK(segments(dir.log()).size() == 1);
  log->append(1, 2000, "still writing");
  log->flush();
  CHECK(all(*log).back() == "still writing");
}

TEST_CASE("a failed write (full disk) fails its records and loses nothing acknowledged") {
  TempDir dir;
  std::atomic<int> fail_next{0};
  LogOptions opts;
  opts.inject_write_error = [&] { return fail_next.exchange(0); };
  Recovery r;
  auto log = SegmentLog::open(dir.log(), opts, r);
  std::vector<std::pair<uint64_t, bool>> outcomes;
  std::mutex m;
  auto record = [&](uint64_t s, bool ok) {
    std::lock_guard lock(m);
    outcomes.emplace_back(s, ok);
  };
  log->append(1, 1, "kept-1", record);
  log->flush();
  fail_next = ENOSPC;
  log->append(1, 2, "lost", record);
  log->flush();
  CHECK_FALSE(log->healthy());
  log->append(1, 3, "kept-2", record);  // space is back
  log->flush();
  CHECK(log->healthy());
  REQUIRE(outcomes.size() == 3);
  CHECK(outcomes[0] == std::make_pair(uint64_t{1}, true));
  CHECK(outcomes[1] == std::make_pair(uint64_t{2}, false));
  CHECK(outcomes[2] == std::make_pair(uint64_t{3}, true));
  CHECK(all(*log) == std::vector<std::string>{"kept-1", "kept-2"});
  log.reset();
  Recovery again;
  auto reopened = SegmentLog::open(dir.log(), opts, again);
  CHECK(again.records == 2);
  CHECK(again.next_sequence == 4);
  CHECK(all(*reopened) == std::vector<std::string>{"kept-1", "kept-2"});
}

TEST_CASE("metrics: bytes, segments, appends, oldest kept record, fsync latency, write failures") {
  TempDir dir;
  std::atomic<int> fail_next{0};
  LogOptions opts;
  opts.segment_bytes = 64;  // a few records a segment
  opts.inject_write_error = [&] { return fail_next.exchange(0); };
  Recovery r;
  auto log = SegmentLog::open(dir.log(), opts, r);
  const LogMetrics empty = log->metrics();
  CHECK(empty.appends == 0);
  CHECK(empty.first_sequence == 0);
  CHECK(empty.segments == 1);
  for (int i = 0; i < 5; ++i) {
    log->append(1, i, "a record of some length");
    log->flush();  // one batch, one sync each
  }
  LogMetrics m = log->metrics();
  CHECK(m.appends == 5);
  CHECK(m.segments > 1);
  CHECK(m.bytes == log->bytes());
  CHECK(m.first_sequence == 1);
  CHECK(m.fsyncs == 5);
  uint64_t bucketed = 0;
  for (uint64_t n : m.fsync_buckets) bucketed += n;
  CHECK(bucketed == m.fsyncs);
  CHECK(m.fsync_seconds > 0);
  CHECK(m.write_failures == 0);

  fail_next = ENOSPC;
  log->append(1, 9, "refused");
  log->flush();
  m = log->metrics();
  CHECK(m.write_failures == 1);
  CHECK(m.appends == 6);  // appended, then refused by the disk
  CHECK(m.fsyncs == 5);   // a failed write is not synced

  CHECK(log->retain(/*min_time_ms=*/3, /*max_bytes=*/UINT64_MAX) > 0);
  CHECK(log->metrics().first_sequence > 1);
}

TEST_CASE("an empty segment left by a crash after rotation moves the numbering to its name") {
  TempDir dir;
  {
    Recovery r;
    auto log = SegmentLog::open(dir.log(), {}, r);
    log->append(1, 1, "one");
    log->append(1, 2, "two");
    log->flush();
  }
  // What a crash right after starting segment 00..010 (whose batch never got written) leaves.
  {
    std::ofstream f(dir.log() + "/00000000000000000010.seg", std::ios::binary);
    const char header[16] = {'H', 'Y', 'D', 'R', 'S', 'E', 'G', '\0', 1, 0, 0, 0, 0, 0, 0, 0};
    f.write(header, 7);  // torn inside its header, even
  }
  {
    Recovery r;
    auto log = SegmentLog::open(dir.log(), {}, r);
    CHECK(r.records == 2);
    CHECK(r.next_sequence == 10);
    CHECK(log->append(1, 3, "ten") == 10);
    log->flush();
  }
  Recovery r;
  auto log = SegmentLog::open(dir.log(), {}, r);
  CHECK(r.records == 3);
  CHECK(all(*log) == std::vector<std::string>{"one", "two", "ten"});
}
