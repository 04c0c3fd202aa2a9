// Log line formatting and output. See log.hpp.
#include "util/log.hpp"
#include "util/log_untrusted.hpp"

#include <unistd.h>

#include <chrono>
#include <iterator>
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

namespace {

// Length of the well-formed UTF-8 sequence at the start of `s` (RFC 3629: no overlongs, no
// surrogates, nothing above U+10FFFF), or 0 when it is not one.
size_t utf8_sequence(std::string_view s) {
  const auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char c = b(0);
  size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // the range of the second byte
  if (c >= 0xC2 && c <= 0xDF) n = 2;
  else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  }
  if (n == 0 || s.size() < n || b(1) < lo || b(1) > hi) return 0;
  for (size_t i = 2; i < n; ++i) {
    if (b(i) < 0x80 || b(i) > 0xBF) return 0;
  }
  return n;
}

}  // namespace

void append_untrusted(fmt::memory_buffer& out, std::string_view text) {
  const std::string_view kept = text.substr(0, kMaxUntrusted);
  for (size_t i = 0; i < kept.size();) {
    const auto c = static_cast<unsigned char>(kept[i]);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c == '\n') {
      out.push_back('\\');
      out.push_back('n');
    } else if (c >= 0x20 && c < 0x7F) {
      out.push_back(static_cast<char>(c));
    } else if (const size_t n = c >= 0x80 ? utf8_sequence(kept.substr(i)) : 0; n > 0) {
      out.append(kept.data() + i, kept.data() + i + n);
      i += n;
      continue;
    } else {
      fmt::format_to(std::back_inserter(out), "\\x{:02x}", c);
    }
    ++i;
  }
  if (kept.size() < text.size()) fmt::format_to(std::back_inserter(out), "...({} bytes)", text.size());
}

}  // namespace hydrant::log
