// ExitGuard: ends the process while a blocking call cannot be interrupted. Publisher::start()
// retries an unreachable broker for ever and does not look at the stop flag, so while a guard
// lives a thread ends the process with `on_stop` at SIGTERM/SIGINT, or with `on_deadline` once
// `limit` has passed (no limit: only the signals). The destructor disarms it (it blocks up to
// 50 ms). Logs one line before exiting; exits with std::_Exit (no destructors: nothing of ours
// is left to flush at these points).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <thread>

#include "input.hpp"
#include "quiet_stderr.hpp"
#include "util/log.hpp"

namespace hydrant::publishers::hg {

class ExitGuard {
 public:
  ExitGuard(std::optional<std::chrono::seconds> limit, int on_stop, int on_deadline)
      : thread_([this, limit, on_stop, on_deadline, start = std::chrono::steady_clock::now()] {
          while (!done_.load()) {
            if (g_stop_requested.load()) {
              log::warn("event=stopped-while-waiting exit={} note=\"a signal ended the wait for the broker\"", on_stop);
              if (on_stop != 0) show_quiet_log();
              std::_Exit(on_stop);
            }
            if (limit && std::chrono::steady_clock::now() - start >= *limit) {
              log::error("event=deadline-passed exit={} limit_s={} note=\"the broker did not confirm in time\"",
                         on_deadline, limit->count());
              if (on_deadline != 0) show_quiet_log();
              std::_Exit(on_deadline);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
          }
        }) {}
  ~ExitGuard() {
    done_.store(true);
    thread_.join();
  }
  ExitGuard(const ExitGuard&) = delete;
  ExitGuard& operator=(const ExitGuard&) = delete;

 private:
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace hydrant::publishers::hg
