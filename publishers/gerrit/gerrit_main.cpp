// hydrant-gerrit: runs `gerrit stream-events` (over ssh, or any command that prints Gerrit's
// JSON lines), publishes each event (gerrit_event.hpp says where), and restarts the command with
// backoff when it exits — unless --once (a recorded stream: `cat events.jsonl`). Lines that are
// not JSON or not events are logged and skipped. dropped-output (Gerrit dropped events for a slow
// reader) is published like any event and logged as a warning.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "gerrit_event.hpp"
#include "input.hpp"
#include "options.hpp"
#include "publisher.hpp"
#include "util/log.hpp"

extern char** environ;

using namespace hydrant;
using namespace hydrant::publishers;

namespace {

constexpr const char* kUsage = R"(hydrant-gerrit: Gerrit stream-events onto an exchange
usage: hydrant-gerrit --client-id NAME [--token-file FILE] [--exchange NAME]
                      [--command "ssh -p 29418 USER@HOST gerrit stream-events"] [--once]
                      [--max-backoff SECS] [--dry-run]
)";

struct Child {
  pid_t pid = -1;
  int fd = -1;
};

Child spawn_shell(const std::string& command) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return {};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, "/bin/sh", &actions, nullptr, const_cast<char**>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    errno = rc;
    return {};
  }
  return {pid, fds[0]};
}

// Reads one run of the command to its end; returns the number of events published.
uint64_t pump(int fd, Publisher& publisher, const CommonOptions& co, uint64_t& line_no) {
  simdjson::dom::parser parser;
  LineReader reader(fd);
  std::string line;
  uint64_t published = 0;
  for (;;) {
    const auto st = reader.next(line);
    if (st != LineReader::Status::Line && st != LineReader::Status::TooLong) return published;
    ++line_no;
    if (st == LineReader::Status::TooLong) {
      log::warn("event=line-skipped line={} why=\"longer than 4 MiB\"", line_no);
      continue;
    }
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    simdjson::dom::element event;
    if (auto err = parser.parse(line).get(event)) {
      log::warn("event=line-skipped line={} why=\"not JSON: {}\"", line_no, simdjson::error_message(err));
      continue;
    }
    auto topic = gerrit_topic(event, co.exchange_topic());
    if (!topic) {
      log::warn("event=line-skipped line={} why=\"no type: not a Gerrit event\"", line_no);
      continue;
    }
    if (text_at(event, {"type"}) == "dropped-output") {
      log::warn("event=gerrit-dropped-output note=\"Gerrit dropped events for this reader; they are lost upstream\"");
    }
    if (!publisher.publish(std::move(*topic), line)) return published;
    ++published;
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string command = "ssh -p 29418 localhost gerrit stream-events";
  bool once = false;
  uint64_t max_backoff = 60;
  CommonOptions co;
  try {
    co = parse_options(argc, argv, kUsage,
                       {{"command", "the command whose output is the event stream", true,
                         [&](auto v) { command = v; }},
                        {"once", "run the command once and exit when it ends (a recorded stream)", false,
                         [&](auto) { once = true; }},
                        {"max-backoff", "longest wait before restarting the command, seconds (60)", true,
                         [&](auto v) { max_backoff = parse_number("--max-backoff", v, 1, 3600); }}},
                       "v1");
  } catch (const UsageError& e) {
    std::fprintf(stderr, "hydrant-gerrit: %s\n", e.what());
    return kExitUsage;
  }
  install_stop_signals();
  Publisher publisher(co, "gerrit");
  try {
    // --once is a finite input: give up after --connect-timeout, and a signal before the broker
    // was reachable leaves the stream unpublished (3). A daemon waits for the broker for ever
    // and, stopped before reading anything, has nothing left behind (0).
    if (!publisher.start(once ? co.connect_timeout : std::chrono::seconds(0))) {
      if (!once) return kExitOk;
      std::fprintf(stderr, "hydrant-gerrit: stopped before the broker was reachable; nothing was published\n");
      return kExitUnflushed;
    }
  } catch (const RefusedCredentials& e) {
    std::fprintf(stderr, "hydrant-gerrit: %s\n", e.what());
    return kExitRefused;
  } catch (const ConnectTimedOut& e) {
    std::fprintf(stderr, "hydrant-gerrit: %s\n", e.what());
    return kExitUnflushed;
  }
  int status = kExitOk;
  uint64_t line_no = 0;
  auto backoff = std::chrono::seconds(1);
  while (!g_stop_requested.load()) {
    const auto started = std::chrono::steady_clock::now();
    Child child = spawn_shell(command);
    if (child.pid < 0) {
      log::error("event=command-failed command=\"{}\" error=\"{}\"", command, std::strerror(errno));
      status = kExitFailed;
      break;
    }
    log::info("event=stream-started command=\"{}\" pid={}", command, child.pid);
    const uint64_t n = pump(child.fd, publisher, co, line_no);
    ::close(child.fd);
    if (g_stop_requested.load()) ::kill(child.pid, SIGTERM);
    int ws = 0;
    ::waitpid(child.pid, &ws, 0);
    const int code = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    log::info("event=stream-ended exit={} events={}", code, n);
    if (once || g_stop_requested.load()) {
      if (once && code != 0) status = kExitFailed;
      break;
    }
    // A stream that ran a while was healthy: start over at the shortest wait.
    if (std::chrono::steady_clock::now() - started > std::chrono::seconds(60)) backoff = std::chrono::seconds(1);
    log::warn("event=stream-restart in_s={}", backoff.count());
    for (auto until = std::chrono::steady_clock::now() + backoff;
         std::chrono::steady_clock::now() < until && !g_stop_requested.load();) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    backoff = std::min(backoff * 2, std::chrono::seconds(max_backoff));
  }
  const size_t left = publisher.stop();
  if (left) return kExitUnflushed;
  return status;
}
