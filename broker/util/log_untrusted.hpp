// Client-supplied strings in log lines (issue 13), kept apart from log.hpp so that only the
// files that log client data include it; implemented in log.cpp.
#pragma once

#include <cstddef>
#include <string_view>

#include <fmt/format.h>

namespace hydrant::log {

// A client-supplied string (client identifier, user name, topic, ...) for a log line: control
// characters, quotes, backslashes and bytes that are not UTF-8 are escaped (\n, \", \\, \xNN), so
// a client cannot forge lines or fields, and only the first kMaxUntrusted bytes are kept, then
// "...(N bytes)", so it cannot make a line long (issue 13). Use it as a format argument:
//   log::info("client=\"{}\"", log::untrusted(client_id));
inline constexpr size_t kMaxUntrusted = 128;
struct Untrusted {
  std::string_view text;
};
inline Untrusted untrusted(std::string_view text) { return Untrusted{text}; }

// Appends the escaped, truncated form of `text` to `out` (what the formatter writes).
void append_untrusted(fmt::memory_buffer& out, std::string_view text);

}  // namespace hydrant::log

template <>
struct fmt::formatter<hydrant::log::Untrusted> : fmt::formatter<fmt::string_view> {
  template <class Context>
  auto format(const hydrant::log::Untrusted& u, Context& ctx) const {
    fmt::memory_buffer buf;
    hydrant::log::append_untrusted(buf, u.text);
    return fmt::formatter<fmt::string_view>::format(fmt::string_view(buf.data(), buf.size()), ctx);
  }
};
