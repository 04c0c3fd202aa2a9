// hydrant-loadgen: clocks, a latency histogram (exact below 1,024 µs, then 64 buckets per
// power of two, so a percentile is off by at most 1.6 %) and the JSON payload the publishers
// send, whose sequence number and send timestamp sit at fixed offsets so the receiver need
// not parse JSON.
#pragma once

#include <sys/resource.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

namespace loadgen {

inline uint64_t now_us() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
}
// CPU time of this process, user + system.
inline double cpu_s() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}


class Histogram {
 public:
  Histogram() : counts_(1024 + 54 * 64, 0) {}
  void add(uint64_t us) {
    ++counts_[bucket(us)];
    ++n_;
    max_ = std::max(max_, us);
  }
  uint64_t count() const { return n_; }
  uint64_t max() const { return max_; }
  // The value at quantile q (0..1): the upper edge of the bucket holding it, capped at max.
  uint64_t quantile(double q) const {
    if (n_ == 0) return 0;
    const auto rank = static_cast<uint64_t>(q * static_cast<double>(n_ - 1)) + 1;
    uint64_t seen = 0;
    for (size_t b = 0; b < counts_.size(); ++b) {
      seen += counts_[b];
      if (seen >= rank) return std::min(upper(b), max_);
    }
    return max_;
  }

 private:
  static size_t bucket(uint64_t v) {
    if (v < 1024) return static_cast<size_t>(v);
    const int e = 63 - std::countl_zero(v);  // 10..63
    const auto m = static_cast<size_t>((v >> (e - 6)) & 63);
    return std::min<size_t>(1024 + static_cast<size_t>(e - 10) * 64 + m, 1024 + 54 * 64 - 1);
  }
  static uint64_t upper(size_t b) {
    if (b < 1024) return b;
    const int e = static_cast<int>((b - 1024) / 64) + 10;
    const uint64_t m = (b - 1024) % 64;
    return ((64 + m + 1) << (e - 6)) - 1;
  }
  std::vector<uint64_t> counts_;
  uint64_t n_ = 0;
  uint64_t max_ = 0;
};

// {"seq":<10 digits>,"ts":<20 digits>,"pad":"xxx…"}: the numbers are right-aligned in
// spaces (whitespace before a value is valid JSON), so they can be rewritten in place.
struct Payload {
  static constexpr size_t kSeqAt = 7, kSeqWidth = 10, kTsAt = 23, kTsWidth = 20, kMin = 53;

  // A template of `size` bytes (at least kMin) whose pad is the letter `fill`.
  static std::string make(size_t size, char fill) {
    size = std::max(size, kMin);
    std::string p = "{\"seq\":          ,\"ts\":                    ,\"pad\":\"";
    p.append(size - p.size() - 2, fill);
    p += "\"}";
    return p;
  }
  static void stamp(std::string& p, uint64_t seq, uint64_t ts_us) {
    put(p, kSeqAt, kSeqWidth, seq);
    put(p, kTsAt, kTsWidth, ts_us);
  }
  // False when the payload is not one of ours.
  static bool read(std::string_view p, uint64_t& seq, uint64_t& ts_us) {
    if (p.size() < kMin || p.substr(0, 7) != "{\"seq\":") return false;
    return get(p, kSeqAt, kSeqWidth, seq) && get(p, kTsAt, kTsWidth, ts_us);
  }

 private:
  static void put(std::string& p, size_t at, size_t width, uint64_t v) {
    for (size_t i = at + width; i-- > at;) {
      p[i] = v || i == at + width - 1 ? static_cast<char>('0' + v % 10) : ' ';
      v /= 10;
    }
  }
  static bool get(std::string_view p, size_t at, size_t width, uint64_t& v) {
    v = 0;
    bool any = false;
    for (size_t i = at; i < at + width; ++i) {
      const char c = p[i];
      if (c >= '0' && c <= '9') {
        v = v * 10 + static_cast<uint64_t>(c - '0');
        any = true;
      } else if (c != ' ' || any) {
        return false;
      }
    }
    return any;
  }
};

}  // namespace loadgen
