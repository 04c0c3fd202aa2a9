// Lines, JSON fields and the stop flag. See input.hpp.
#include "input.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

namespace hydrant::publishers {

std::atomic<bool> g_stop_requested{false};

void install_stop_signals() {
  struct sigaction sa {};
  sa.sa_handler = [](int) { g_stop_requested.store(true); };
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a blocking read returns EINTR and the loop sees the flag
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

LineReader::Status LineReader::next(std::string& line) {
  for (;;) {
    const size_t nl = buf_.find('\n', start_);
    if (nl != std::string::npos) {
      const bool was_skipping = skipping_;
      skipping_ = false;
      line.assign(buf_, start_, nl - start_);
      start_ = nl + 1;
      if (was_skipping) return Status::TooLong;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return Status::Line;
    }
    if (buf_.size() - start_ > max_line_) {  // no end in sight: drop what we have of it
      skipping_ = true;
      buf_.clear();
      start_ = 0;
    }
    if (eof_) {
      if (start_ < buf_.size() && !skipping_) {
        line.assign(buf_, start_);
        buf_.clear();
        start_ = 0;
        return Status::Line;
      }
      return Status::End;
    }
    if (start_ > 0) {
      buf_.erase(0, start_);
      start_ = 0;
    }
    char chunk[65536];
    const ssize_t n = ::read(fd_, chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR) {
        if (g_stop_requested.load()) return Status::Stopped;
        continue;
      }
      return Status::Error;
    }
    if (n == 0) {
      eof_ = true;
      continue;
    }
    buf_.append(chunk, static_cast<size_t>(n));
  }
}

std::optional<std::string> text_at(simdjson::dom::element root,
                                   std::initializer_list<std::string_view> path) {
  simdjson::dom::element e = root;
  for (auto key : path) {
    simdjson::dom::object obj;
    if (e.get_object().get(obj) != simdjson::SUCCESS) return std::nullopt;
    if (obj.at_key(key).get(e) != simdjson::SUCCESS) return std::nullopt;
  }
  switch (e.type()) {
    case simdjson::dom::element_type::STRING: return std::string(std::string_view(e.get_string()));
    case simdjson::dom::element_type::INT64: return fmt::format("{}", int64_t(e.get_int64()));
    case simdjson::dom::element_type::UINT64: return fmt::format("{}", uint64_t(e.get_uint64()));
    case simdjson::dom::element_type::DOUBLE: return fmt::format("{}", double(e.get_double()));
    case simdjson::dom::element_type::BOOL: return std::string(bool(e.get_bool()) ? "true" : "false");
    default: return std::nullopt;
  }
}

}  // namespace hydrant::publishers
