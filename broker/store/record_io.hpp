// The little-endian field encoding of the store's records (records.hpp), shared with what
// encodes the same things elsewhere (a cluster's session records): fixed-size integers as they
// lie in memory, strings as u32 length + bytes, subscription options packed into one byte.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "codec/packet.hpp"

namespace hydrant::store {

template <class T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}
inline void put_string(std::string& out, std::string_view s) {
  put(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

// Reads fields in order; any read past the end makes ok false (and returns zeros).
struct Reader {
  std::string_view data;
  bool ok = true;
  template <class T>
  T get() {
    T v{};
    if (data.size() < sizeof v) {
      ok = false;
      return v;
    }
    std::memcpy(&v, data.data(), sizeof v);
    data.remove_prefix(sizeof v);
    return v;
  }
  std::string_view get_string() {
    const auto n = get<uint32_t>();
    if (!ok || data.size() < n) {
      ok = false;
      return {};
    }
    auto s = data.substr(0, n);
    data.remove_prefix(n);
    return s;
  }
};

inline uint8_t pack(const codec::SubscriptionOptions& o) {
  return static_cast<uint8_t>(o.max_qos | (o.no_local ? 4 : 0) | (o.retain_as_published ? 8 : 0) |
                              (o.retain_handling << 4));
}
inline codec::SubscriptionOptions unpack(uint8_t b) {
  return {static_cast<uint8_t>(b & 3), (b & 4) != 0, (b & 8) != 0, static_cast<uint8_t>((b >> 4) & 3)};
}

}  // namespace hydrant::store
