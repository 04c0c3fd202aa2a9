// The audit trail; see audit.hpp.
#include "admin/audit.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "base/json_writer.hpp"
#include "util/log.hpp"
#include "util/wall_clock.hpp"

namespace hydrant::admin {

void audit(const std::string& data_dir, std::string_view by, std::string_view action,
           std::string_view target, std::string_view detail) {
  const auto now = std::chrono::system_clock::now();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
  JsonWriter w;
  w.begin_object()
      .member("time", util::iso8601(now))
      .member("unix_ms", static_cast<int64_t>(ms.count()))
      .member("by", by)
      .member("action", action)
      .member("target", target);
  if (!detail.empty()) w.member("detail", detail);
  w.end_object();
  std::string line = w.take();
  log::info("event=audit by=\"{}\" action={} target=\"{}\"{}{}", by, action, target,
            detail.empty() ? "" : " detail=", detail);
  line += '\n';
  const std::string path = data_dir + "/audit.log";
  // O_APPEND: lines from the broker and from commands never interleave within a line.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0 || ::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    log::error("event=audit-write-failed path={} error=\"{}\"", path, std::strerror(errno));
  }
  if (fd >= 0) ::close(fd);
}

}  // namespace hydrant::admin
