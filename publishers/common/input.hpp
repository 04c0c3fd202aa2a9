// What adapters read: lines from a file descriptor (a pipe from ssh, stdin, a file), JSON
// fields that tolerate what real producers send (numbers as strings, missing fields), and a
// stop flag set by SIGTERM/SIGINT.
#pragma once

#include <atomic>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include <simdjson.h>

namespace hydrant::publishers {

// Set by SIGTERM and SIGINT once install_stop_signals() ran; blocking reads return EINTR.
extern std::atomic<bool> g_stop_requested;
void install_stop_signals();

// Splits what a file descriptor delivers into lines, whatever the chunks (a line may arrive in
// several reads). A line longer than `max_line` is reported as too long and skipped.
class LineReader {
 public:
  explicit LineReader(int fd, size_t max_line = 4u << 20) : fd_(fd), max_line_(max_line) {}
  enum class Status { Line, TooLong, End, Error, Stopped };
  // The next line without its '\n' (a final line without one counts too).
  Status next(std::string& line);

 private:
  int fd_;
  size_t max_line_;
  std::string buf_;
  size_t start_ = 0;
  bool eof_ = false;
  bool skipping_ = false;  // inside a line too long: drop until its end
};

// The value at `path` as text: strings as they are, numbers written in decimal (Gerrit sends a
// change number as 123 or "123"), booleans as true/false; nullopt when absent or another type.
std::optional<std::string> text_at(simdjson::dom::element root, std::initializer_list<std::string_view> path);

}  // namespace hydrant::publishers
