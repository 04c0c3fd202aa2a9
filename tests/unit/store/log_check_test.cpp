// `hydrant store check` / `store repair` (store/log_check) on real segment files: an intact log,
// one flipped byte mid-segment, damage in two segments, and a repair that keeps every intact
// record, sets the damaged originals aside and leaves a log the broker opens again.
#include <doctest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "store/log_check.hpp"
#include "store/segment_log.hpp"
#include "temp_dir.hpp"

using namespace hydrant::store;
using hydrant::test::TempDir;
namespace fs = std::filesystem;

namespace {

// `count` records "record-<i>" (60 bytes each), one batch each, in segments of about 200 bytes.
LogOptions small_segments() {
  LogOptions o;
  o.segment_bytes = 200;
  return o;
}

void write_records(const std::string& dir, int count) {
  Recovery r;
  auto log = SegmentLog::open(dir, small_segments(), r);
  for (int i = 0; i < count; ++i) {
    std::string body = "record-" + std::to_string(i);
    body.resize(60, '.');
    log->append(1, i, body);
    log->flush();
  }
}

std::vector<std::string> segment_files(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".seg") out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Flips one byte inside the body of `marker` in `file` (a record's payload: its checksum fails).
void flip_inside(const std::string& file, const std::string& marker) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(f)), {});
  const size_t at = data.find(marker);
  REQUIRE(at != std::string::npos);
  f.seekp(static_cast<std::streamoff>(at + 2));
  f.put(static_cast<char>(data[at + 2] ^ 0x01));
}

std::vector<std::string> bodies(const std::string& dir) {
  Recovery r;
  auto log = SegmentLog::open(dir, small_segments(), r);
  std::vector<std::string> out;
  log->read(1, 1000000, [&](const Record& rec) { out.emplace_back(rec.data.substr(0, rec.data.find('.'))); });
  return out;
}

}  // namespace

TEST_CASE("check: an intact log has no damage") {
  TempDir dir;
  write_records(dir.log(), 12);
  const LogCheck c = check_log(dir.log());
  CHECK(c.segments == segment_files(dir.log()).size());
  CHECK(c.segments > 2);
  CHECK(c.records == 12);
  CHECK(c.damage.empty());
  const LogRepair r = repair_log(dir.log());
  CHECK(r.found.damage.empty());
  CHECK(r.aside.empty());
  CHECK(r.rewritten.empty());
}

TEST_CASE("check and repair: one damaged record mid-log is set aside, the rest kept") {
  TempDir dir;
  write_records(dir.log(), 12);
  const auto files = segment_files(dir.log());
  REQUIRE(files.size() > 3);
  // record-4 sits in some middle segment: find it.
  std::string victim;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    const std::string data((std::istreambuf_iterator<char>(in)), {});
    if (data.find("record-4.") != std::string::npos) victim = f;
  }
  REQUIRE(!victim.empty());
  REQUIRE(victim != files.back());
  flip_inside(victim, "record-4.");
  {
    Recovery r;
    CHECK_THROWS_AS(SegmentLog::open(dir.log(), small_segments(), r), StoreError);
  }
  const LogCheck c = check_log(dir.log());
  REQUIRE(c.damage.size() == 1);
  CHECK(c.damage[0].file.find(fs::path(victim).filename().string()) != std::string::npos);
  CHECK(c.damage[0].end > c.damage[0].offset);
  CHECK(c.damage[0].after_sequence == 4);   // record-3 is sequence 4
  CHECK(c.damage[0].before_sequence == 6);  // record-5 resynchronises
  CHECK(c.records == 11);

  const LogRepair r = repair_log(dir.log());
  REQUIRE(r.found.damage.size() == 1);
  CHECK(r.rewritten.size() == 1);
  REQUIRE(!r.aside.empty());
  CHECK(fs::exists(fs::path(r.aside) / fs::path(victim).filename()));  // the original, kept
  CHECK(check_log(dir.log()).damage.empty());
  std::vector<std::string> expected;
  for (int i = 0; i < 12; ++i) {
    if (i != 4) expected.push_back("record-" + std::to_string(i));
  }
  CHECK(bodies(dir.log()) == expected);  // the broker opens it again, everything else there
}

TEST_CASE("check: damage in two segments is two ranges; repair keeps the others") {
  TempDir dir;
  write_records(dir.log(), 15);
  const auto files = segment_files(dir.log());
  REQUIRE(files.size() > 4);
  flip_inside(files[1], "record-");
  flip_inside(files[3], "record-");
  const LogCheck c = check_log(dir.log());
  CHECK(c.damage.size() == 2);
  const LogRepair r = repair_log(dir.log());
  CHECK(r.rewritten.size() == 2);
  CHECK(check_log(dir.log()).damage.empty());
  CHECK(bodies(dir.log()).size() == 13);
}

TEST_CASE("check: a directory that cannot be read is an error, not an empty log") {
  CHECK_THROWS_AS(check_log("/nonexistent/hydrant-log"), StoreError);
}
