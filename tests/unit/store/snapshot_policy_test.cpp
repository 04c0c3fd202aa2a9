// The store's snapshot policy (issue 13, item 1): a snapshot is due by growth relative to the
// state's own size, so a state larger than the fixed floor does not make every snapshot due the
// next second; an idle store writes nothing; segments a snapshot superseded go; and a reopened
// store recovers the state from its last complete snapshot.
#include <doctest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include <fmt/format.h>

#include "store/message_store.hpp"
#include "temp_dir.hpp"
#include "util/wall_clock.hpp"

using namespace hydrant;
using namespace hydrant::store;
using hydrant::test::TempDir;
namespace fs = std::filesystem;

namespace {

size_t segment_files(const std::string& dir) {
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) n += e.path().extension() == ".seg";
  return n;
}

uint64_t disk_bytes(const std::string& dir) {
  uint64_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) n += e.is_regular_file() ? e.file_size() : 0;
  return n;
}

}  // namespace

TEST_CASE("an idle store with a state above the old snapshot interval writes no more snapshots") {
  TempDir d;
  StoreOptions o;
  o.dir = d.path + "/log";
  o.durability = Durability::None;
  o.segment_bytes = 1 << 20;
  constexpr int kRetained = 110000;  // more than the fixed floor of 100,000 records
  {
    auto st = MessageStore::open(o);
    for (int i = 0; i < kRetained; ++i) {
      st->retain(fanout::Message::create(fmt::format("exchange/u/r/{}", i), "{}", 0, true, {}, 0,
                                         fanout::Clock::now()));
    }
    const int64_t now = util::unix_ms();
    st->maintain(now);  // due: 110,000 records appended since the opening snapshot
    st->flush();
    st->maintain(now);  // drops what that snapshot superseded
    st->flush();
    const uint64_t snapshots = st->snapshots();
    const uint64_t bytes = st->bytes();
    const size_t files = segment_files(o.dir);
    const uint64_t on_disk = disk_bytes(o.dir);
    for (int second = 1; second <= 5; ++second) {
      st->maintain(now + second * 1000);
      st->flush();
    }
    CHECK(st->snapshots() == snapshots);
    CHECK(st->bytes() == bytes);
    CHECK(segment_files(o.dir) == files);
    CHECK(disk_bytes(o.dir) == on_disk);
    // The superseded segments went: about one snapshot's worth is left, not the writes plus it.
    CHECK(st->bytes() < 2 * (bytes - 0) + (1u << 20));
  }
  // Reopened: the state comes back from the last snapshot, and an idle reopen adds none.
  {
    auto st = MessageStore::open(o);
    CHECK(st->recovered_state().retained.size() == kRetained);
    CHECK(st->snapshots() == 0);
    const uint64_t bytes = st->bytes();
    st->maintain(util::unix_ms());
    st->flush();
    CHECK(st->bytes() == bytes);
  }
}

TEST_CASE("a snapshot is due once the writes since the last one outgrow it, not before") {
  TempDir d;
  StoreOptions o;
  o.dir = d.path + "/log";
  o.durability = Durability::None;
  o.segment_bytes = 64 << 20;
  auto st = MessageStore::open(o);
  const uint64_t opened = st->snapshots();
  for (int i = 0; i < 1000; ++i) {
    st->retain(fanout::Message::create(fmt::format("exchange/u/r/{}", i), "{}", 0, true, {}, 0,
                                       fanout::Clock::now()));
  }
  st->maintain(util::unix_ms());
  CHECK(st->snapshots() == opened);  // 1,000 records: below the floor
  for (int i = 0; i < 100000; ++i) {
    st->retain(fanout::Message::create(fmt::format("exchange/u/r/{}", i % 500), "{}", 0, true, {},
                                       0, fanout::Clock::now()));
  }
  st->maintain(util::unix_ms());
  CHECK(st->snapshots() == opened + 1);  // past the floor
  st->maintain(util::unix_ms());
  CHECK(st->snapshots() == opened + 1);
}
