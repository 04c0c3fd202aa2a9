// Logging facade (fmt's type-erasure recipe): the templates check the format string at compile
// time and forward to one non-template vlog(), so call sites stay small. Lines are structured
// `key=value` text on stderr with a timestamp and level. The level is checked before formatting,
// so a disabled debug line costs one relaxed atomic load. Thread-safe: each line is written
// with one write(2).
#pragma once

#include <atomic>
#include <optional>
#include <string_view>

#include <fmt/format.h>

namespace hydrant::log {

enum class Level : int { Debug = 0, Info = 1, Warning = 2, Error = 3, Off = 4 };

std::optional<Level> parse_level(std::string_view name);  // "debug", "info", "warning", "error", "off"
std::string_view level_name(Level level);

void set_level(Level level);
Level level();
inline bool enabled(Level l);

void vlog(Level level, fmt::string_view format, fmt::format_args args);

namespace detail {
extern std::atomic<int> g_level;  // the one process-wide setting: where log lines go is global
}

inline bool enabled(Level l) {
  return static_cast<int>(l) >= detail::g_level.load(std::memory_order_relaxed);
}

template <class... A>
void debug(fmt::format_string<A...> f, A&&... a) {
  if (enabled(Level::Debug)) vlog(Level::Debug, f, fmt::make_format_args(a...));
}
template <class... A>
void info(fmt::format_string<A...> f, A&&... a) {
  if (enabled(Level::Info)) vlog(Level::Info, f, fmt::make_format_args(a...));
}
template <class... A>
void warn(fmt::format_string<A...> f, A&&... a) {
  if (enabled(Level::Warning)) vlog(Level::Warning, f, fmt::make_format_args(a...));
}
template <class... A>
void error(fmt::format_string<A...> f, A&&... a) {
  if (enabled(Level::Error)) vlog(Level::Error, f, fmt::make_format_args(a...));
}

}  // namespace hydrant::log
