// Log line formatting and output. See log.hpp.
#include "util/log.hpp"

#include <unistd.h>

#include <chrono>
#include <ctime>

namespace hydrant::log {

namespace detail {
std::atomic<int> g_level{static_cast<int>(Level::Info)};
}

std::optional<Level> parse_level(std::string_view name) {
  if (name == "debug") return Level::Debug;
  if (name == "info") return Level::Info;
  if (name == "warning" || name == "warn") return Level::Warning;
  if (name == "error") return Level::Error;
  if (name == "off" || name == "none") return Level::Off;
  return std::nullopt;
}

std::string_view level_name(Level level) {
  switch (level) {
    case Level::Debug: return "debug";
    case Level::Info: return "info";
    case Level::Warning: return "warning";
    case Level::Error: return "error";
    case Level::Off: return "off";
  }
  return "?";
}

void set_level(Level level) { detail::g_level.store(static_cast<int>(level)); }
Level level() { return static_cast<Level>(detail::g_level.load()); }

void vlog(Level level, fmt::string_view format, fmt::format_args args) {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const auto secs = system_clock::to_time_t(now);
  const auto millis = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  fmt::memory_buffer line;
  fmt::format_to(std::back_inserter(line), "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z {} ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 millis, level_name(level));
  fmt::vformat_to(std::back_inserter(line), format, args);
  line.push_back('\n');
  // One write per line keeps lines from different threads whole.
  ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

}  // namespace hydrant::log
