// This process's own figures, as Prometheus's process_* metrics report them: CPU time, resident
// memory, open and allowed descriptors, start time. Read from /proc on each call (a scrape).
#pragma once

#include <cstdint>
#include <string_view>

namespace hydrant::metrics {

struct ProcessStats {
  double cpu_seconds = 0;        // user + system
  uint64_t resident_bytes = 0;
  uint64_t virtual_bytes = 0;
  uint64_t open_fds = 0;
  uint64_t max_fds = 0;          // the soft limit
  double start_time_seconds = 0; // unix time, as the process initialized
};

ProcessStats read_process_stats();

// Parses /proc/<pid>/stat's text (the fields after the command name, which may hold spaces
// and parentheses) into `out`'s CPU time and memory; `ticks` per second, `page` bytes. False
// when the text is not such a line.
bool parse_proc_stat(std::string_view text, long ticks, long page, ProcessStats& out);

}  // namespace hydrant::metrics
