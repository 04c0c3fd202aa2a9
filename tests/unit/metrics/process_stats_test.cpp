// process_* metrics: /proc/<pid>/stat parsed past a command name that holds spaces and
// parentheses; and this test process's own figures read for real.
#include <doctest.h>

#include <ctime>
#include <string>

#include "metrics/process_stats.hpp"

using namespace hydrant::metrics;

TEST_CASE("a stat line whose command holds ') (' is parsed from after its last parenthesis") {
  // Fields 14-15 utime/stime = 250/150 ticks, 23 vsize, 24 rss pages.
  const std::string line =
      "4242 (odd) (name) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 150 0 0 20 0 3 0 1000 "
      "123456789 300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
  ProcessStats s;
  REQUIRE(parse_proc_stat(line, 100, 4096, s));
  CHECK(s.cpu_seconds == doctest::Approx(4.0));
  CHECK(s.virtual_bytes == 123456789);
  CHECK(s.resident_bytes == 300u * 4096);
  CHECK_FALSE(parse_proc_stat("garbage", 100, 4096, s));
  CHECK_FALSE(parse_proc_stat("1 (short) S 1 2", 100, 4096, s));
}

TEST_CASE("this process's figures are read from /proc") {
  const ProcessStats s = read_process_stats();
  CHECK(s.open_fds >= 3);
  CHECK(s.max_fds >= s.open_fds);
  CHECK(s.resident_bytes > 0);
  const double now = static_cast<double>(std::time(nullptr));
  CHECK(s.start_time_seconds > now - 3600);
  CHECK(s.start_time_seconds <= now + 1);
}
