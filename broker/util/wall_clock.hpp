// Wall-clock time as the control plane writes it: whole seconds since the Unix epoch (tokens,
// users, exchanges) and ISO 8601 in UTC with milliseconds (the API, the audit trail, commands).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <fmt/chrono.h>

namespace hydrant::util {

inline int64_t unix_seconds(std::chrono::system_clock::time_point t = std::chrono::system_clock::now()) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// Milliseconds since the Unix epoch (the message log's arrival times).
inline int64_t unix_ms(std::chrono::system_clock::time_point t = std::chrono::system_clock::now()) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// "2026-11-24T03:46:18.960Z"
inline std::string iso8601(std::chrono::system_clock::time_point t) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}Z", std::chrono::time_point_cast<std::chrono::milliseconds>(t));
}

// "2026-12-04T16:26:49.823Z": the message log's times, to the millisecond.
inline std::string iso8601_of_unix_ms(int64_t ms) {
  const int64_t seconds = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03}Z",
                     std::chrono::sys_seconds(std::chrono::seconds(seconds)), ms - seconds * 1000);
}

inline std::string iso8601_of_unix(int64_t seconds) {
  return iso8601(std::chrono::system_clock::time_point(std::chrono::seconds(seconds)));
}

}  // namespace hydrant::util
