// The segment file format (segment_log.hpp describes it), shared by SegmentLog and by the
// offline check and repair (log_check.hpp): constants, encoding, and the parse of one record.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "store/crc32c.hpp"

namespace hydrant::store::format {

static_assert(std::endian::native == std::endian::little, "the store format is little-endian");

constexpr char kMagic[8] = {'H', 'Y', 'D', 'R', 'S', 'E', 'G', '\0'};
constexpr uint32_t kFormat = 1;
constexpr size_t kHeaderSize = 16;
constexpr size_t kFrameSize = 8;            // length + checksum
constexpr size_t kRecordFixed = 8 + 8 + 1;  // sequence + time + kind
constexpr uint32_t kMaxRecord = 256u << 20; // a length above this is corruption

template <class T>
T load(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <class T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

inline std::string header() {
  std::string h(kMagic, sizeof kMagic);
  put(h, kFormat);
  put(h, uint32_t{0});
  return h;
}

// What is at `at` in a segment's bytes.
enum class Frame { Intact, Torn, BadChecksum };

struct Parsed {
  Frame frame = Frame::Torn;
  uint32_t length = 0;  // of what follows the frame (Intact only)
  uint64_t sequence = 0;
  int64_t time_ms = 0;
  uint8_t kind = 0;
};

// Torn: the bytes end before the record does (or its length is impossible); BadChecksum: a
// whole record is there but its checksum does not match (damage, not a crash mid-write).
inline Parsed parse(std::string_view data, size_t at) {
  Parsed p;
  if (data.size() - at < kFrameSize) return p;
  const auto length = load<uint32_t>(data.data() + at);
  if (length < kRecordFixed || length > kMaxRecord || data.size() - at - kFrameSize < length) {
    return p;
  }
  const auto crc = load<uint32_t>(data.data() + at + 4);
  if (crc32c(data.data() + at + kFrameSize, length) != crc) {
    p.frame = Frame::BadChecksum;
    return p;
  }
  p.frame = Frame::Intact;
  p.length = length;
  p.sequence = load<uint64_t>(data.data() + at + kFrameSize);
  p.time_ms = load<int64_t>(data.data() + at + kFrameSize + 8);
  p.kind = static_cast<uint8_t>(data[at + kFrameSize + 16]);
  return p;
}

}  // namespace hydrant::store::format
