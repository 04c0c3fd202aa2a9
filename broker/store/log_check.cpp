// Offline check and repair of the message log. See log_check.hpp.
#include "store/log_check.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "store/segment_format.hpp"
#include "store/segment_log.hpp"
#include "util/wall_clock.hpp"

namespace hydrant::store {

namespace {

using namespace format;

struct Segment {
  std::string name;
  uint64_t first_sequence = 0;
};

std::vector<Segment> list_segments(const std::string& dir) {
  std::vector<Segment> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) throw StoreError(fmt::format("{}: {}", dir, std::strerror(errno)));
  while (const dirent* e = ::readdir(d)) {
    const std::string_view name = e->d_name;
    if (name.size() == 24 && name.ends_with(".seg")) {
      out.push_back({std::string(name), std::stoull(std::string(name.substr(0, 20)))});
    }
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(), [](const Segment& a, const Segment& b) { return a.name < b.name; });
  return out;
}

std::string read_whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw StoreError(fmt::format("{}: cannot read: {}", path, std::strerror(errno)));
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// One segment's intact records (as byte ranges) and its damage.
struct Scan {
  std::vector<std::pair<size_t, size_t>> intact;  // [offset, end) of each intact record
  std::vector<LogDamage> damage;
  uint64_t last_sequence = 0;
};

// A record that can be trusted here: whole, its checksum valid, its sequence after `after` and
// below `below` (the next segment's first; 0: no bound).
bool fits(const Parsed& p, uint64_t after, uint64_t below) {
  return p.frame == Frame::Intact && p.sequence > after && (below == 0 || p.sequence < below);
}

Scan scan(const std::string& path, const std::string& data, uint64_t after, uint64_t below) {
  Scan s;
  s.last_sequence = after;
  if (data.size() < kHeaderSize || std::memcmp(data.data(), kMagic, sizeof kMagic) != 0 ||
      load<uint32_t>(data.data() + 8) != kFormat) {
    s.damage.push_back({path, 0, data.size(), after, 0, "not a segment of this format"});
    return s;
  }
  size_t at = kHeaderSize;
  while (at < data.size()) {
    Parsed p = parse(data, at);
    if (fits(p, s.last_sequence, below)) {
      s.intact.emplace_back(at, at + kFrameSize + p.length);
      s.last_sequence = p.sequence;
      at += kFrameSize + p.length;
      continue;
    }
    LogDamage d{path, at, data.size(), s.last_sequence, 0,
                p.frame == Frame::Torn         ? "a torn record"
                : p.frame == Frame::BadChecksum ? "a record whose checksum does not match"
                                                : "a record out of sequence"};
    // Resynchronise: the next offset holding a whole, valid record that fits the numbering.
    for (size_t next = at + 1; next + kFrameSize + kRecordFixed <= data.size(); ++next) {
      const auto length = load<uint32_t>(data.data() + next);
      if (length < kRecordFixed || length > data.size() - next - kFrameSize) continue;
      p = parse(data, next);
      if (fits(p, s.last_sequence, below)) {
        d.end = next;
        d.before_sequence = p.sequence;
        break;
      }
    }
    s.damage.push_back(d);
    at = d.end;
  }
  return s;
}

void write_or_throw(int fd, const std::string& path, const char* p, size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) throw StoreError(fmt::format("{}: {}", path, std::strerror(errno)));
    p += w;
    n -= static_cast<size_t>(w);
  }
}

void sync_path(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

template <class Visit>
LogCheck walk(const std::string& dir, Visit&& visit) {
  LogCheck c;
  const auto segments = list_segments(dir);
  uint64_t after = 0;
  for (size_t i = 0; i < segments.size(); ++i) {
    const std::string path = dir + "/" + segments[i].name;
    const std::string data = read_whole(path);
    const uint64_t below = i + 1 < segments.size() ? segments[i + 1].first_sequence : 0;
    Scan s = scan(path, data, std::max(after, segments[i].first_sequence - 1), below);
    ++c.segments;
    c.records += s.intact.size();
    after = s.last_sequence;
    visit(segments[i], path, data, s);
    c.damage.insert(c.damage.end(), s.damage.begin(), s.damage.end());
  }
  return c;
}

}  // namespace

LogCheck check_log(const std::string& dir) {
  return walk(dir, [](const Segment&, const std::string&, const std::string&, const Scan&) {});
}

LogRepair repair_log(const std::string& dir) {
  LogRepair r;
  r.found = walk(dir, [&](const Segment& seg, const std::string& path, const std::string& data,
                          const Scan& s) {
    if (s.damage.empty()) return;
    if (r.aside.empty()) {
      r.aside = fmt::format("{}/damaged/{}", dir, util::unix_ms());
      ::mkdir((dir + "/damaged").c_str(), 0700);
      if (::mkdir(r.aside.c_str(), 0700) != 0) {
        throw StoreError(fmt::format("{}: {}", r.aside, std::strerror(errno)));
      }
    }
    // The intact records into a new file first; then the original is linked aside and the new
    // one renamed over it, so that a crash at any point leaves a readable log and the original.
    const std::string fresh = path + ".repair";
    const int fd = ::open(fresh.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) throw StoreError(fmt::format("{}: {}", fresh, std::strerror(errno)));
    const std::string h = header();
    write_or_throw(fd, fresh, h.data(), h.size());
    for (const auto& [from, to] : s.intact) write_or_throw(fd, fresh, data.data() + from, to - from);
    if (::fsync(fd) != 0) throw StoreError(fmt::format("{}: {}", fresh, std::strerror(errno)));
    ::close(fd);
    const std::string kept = r.aside + "/" + seg.name;
    if (::link(path.c_str(), kept.c_str()) != 0) {
      throw StoreError(fmt::format("{}: cannot keep it aside: {}", kept, std::strerror(errno)));
    }
    sync_path(r.aside);
    if (::rename(fresh.c_str(), path.c_str()) != 0) {
      throw StoreError(fmt::format("{}: {}", path, std::strerror(errno)));
    }
    sync_path(dir);
    r.rewritten.push_back(path);
  });
  return r;
}

}  // namespace hydrant::store
