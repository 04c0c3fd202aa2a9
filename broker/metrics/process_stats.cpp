// The process's figures from /proc. See process_stats.hpp.
#include "metrics/process_stats.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace hydrant::metrics {

namespace {

std::string read_file(const char* path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

double unix_now() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// When the process started, taken as it initializes: the system's boot time (/proc/stat) is
// hidden from a service with ProcSubset=pid (broker/deploy/hydrant.service.in).
const double kProcessStart = unix_now();

}  // namespace

bool parse_proc_stat(std::string_view text, long ticks, long page, ProcessStats& out) {
  // "pid (comm) state ppid ...": the command may hold ") ", so the fields start after the last.
  const auto close = text.rfind(')');
  if (close == std::string_view::npos || ticks <= 0) return false;
  std::istringstream in{std::string(text.substr(close + 1))};
  std::vector<std::string> f;  // f[0] is field 3 (state)
  for (std::string word; in >> word;) f.push_back(word);
  if (f.size() < 22) return false;
  const double utime = std::strtod(f[11].c_str(), nullptr), stime = std::strtod(f[12].c_str(), nullptr);
  out.cpu_seconds = (utime + stime) / static_cast<double>(ticks);
  out.virtual_bytes = std::strtoull(f[20].c_str(), nullptr, 10);
  out.resident_bytes = std::strtoull(f[21].c_str(), nullptr, 10) * static_cast<uint64_t>(page);
  return true;
}

ProcessStats read_process_stats() {
  ProcessStats s;
  parse_proc_stat(read_file("/proc/self/stat"), sysconf(_SC_CLK_TCK), sysconf(_SC_PAGESIZE), s);
  s.start_time_seconds = kProcessStart;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++s.open_fds;
  }
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) s.max_fds = limit.rlim_cur;
  return s;
}

}  // namespace hydrant::metrics
