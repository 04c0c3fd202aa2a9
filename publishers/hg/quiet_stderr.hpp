// QuietStderr: what the pusher sees from the hook. Mercurial shows a hook's stderr to whoever
// pushed (`remote: …`), so while one lives the log lines go to a memory file instead of fd 2;
// release(false) drops them (a push that reached the bus says one line, no more), release(true)
// writes them all to the real stderr (a failure: every detail). A forced exit (ExitGuard: a
// signal or the deadline) shows them too, through g_show_quiet_log.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>

namespace hydrant::publishers::hg {

class QuietStderr;
inline std::atomic<QuietStderr*> g_quiet_stderr{nullptr};

class QuietStderr {
 public:
  QuietStderr() {
    std::fflush(stderr);
    file_ = ::memfd_create("hydrant-hg-log", MFD_CLOEXEC);
    saved_ = file_ < 0 ? -1 : ::dup(STDERR_FILENO);
    if (saved_ < 0 || ::dup2(file_, STDERR_FILENO) < 0) return;
    g_quiet_stderr.store(this);
  }
  ~QuietStderr() { release(true); }
  QuietStderr(const QuietStderr&) = delete;
  QuietStderr& operator=(const QuietStderr&) = delete;

  // Puts stderr back; with `show`, what was logged meanwhile is written to it first.
  void release(bool show) {
    if (released_.exchange(true)) return;
    g_quiet_stderr.store(nullptr);
    std::fflush(stderr);
    if (saved_ >= 0) {
      ::dup2(saved_, STDERR_FILENO);
      ::close(saved_);
    }
    if (file_ < 0) return;
    if (show && saved_ >= 0) {
      char buf[8192];
      for (off_t at = 0;;) {
        const ssize_t n = ::pread(file_, buf, sizeof buf, at);
        if (n <= 0) break;
        for (ssize_t w = 0; w < n;) {
          const ssize_t k = ::write(STDERR_FILENO, buf + w, static_cast<size_t>(n - w));
          if (k <= 0) break;
          w += k;
        }
        at += n;
      }
    }
    ::close(file_);
  }

 private:
  int file_ = -1;
  int saved_ = -1;
  std::atomic<bool> released_{false};
};

// Before a forced exit: show what was logged (the exit is a failure).
inline void show_quiet_log() {
  if (auto* q = g_quiet_stderr.load()) q->release(true);
}

}  // namespace hydrant::publishers::hg
