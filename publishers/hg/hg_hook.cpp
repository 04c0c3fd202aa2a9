// hook mode: Mercurial runs `hydrant-hg hook` as a changegroup hook, once per push, in the
// repository's root with HG_NODE (the first new changeset), HG_NODE_LAST (the last; older
// Mercurials leave it out), HG_SOURCE, HG_URL and HG_HOOKTYPE in the environment. Mercurial sets
// no variable naming the repository, hence the cwd (or --repo-path). We publish one message and
// wait for the broker's PUBACK: the exit status tells the push whether it reached the bus
// (non-zero: Mercurial prints "warning: changegroup.NAME hook exited with status N"; the push
// itself stays). Where `hg` runs, the heads come from `hg log -r 'heads(NODE:NODE_LAST)'` and
// the push id, date and user from the pushlog extension's {pushid}/{pushdate}/{pushuser}
// keywords; without hg (or when those fail) heads = [HG_NODE_LAST or HG_NODE], and the flags or
// the environment fill in.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>

#include "exit_guard.hpp"
#include "hg_modes.hpp"
#include "hg_push.hpp"
#include "input.hpp"
#include "publisher.hpp"
#include "quiet_stderr.hpp"
#include "routing.hpp"
#include "util/log.hpp"

extern char** environ;

namespace hydrant::publishers::hg {

namespace {

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return std::nullopt;
  return std::string(v);
}

// Runs `hg ARGS` (HGPLAIN=1, stderr discarded) and returns its stdout; nullopt when hg is not
// there or exits non-zero.
std::optional<std::string> run_hg(const std::vector<std::string>& args) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return std::nullopt;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  std::vector<char*> argv{const_cast<char*>("hg")};
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  ::setenv("HGPLAIN", "1", 1);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, "hg", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    return std::nullopt;
  }
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  int ws = 0;
  while (::waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0) return std::nullopt;
  return out;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < text.size()) {
    size_t nl = text.find('\n', at);
    if (nl == std::string::npos) nl = text.size();
    if (nl > at) out.push_back(text.substr(at, nl - at));
    at = nl + 1;
  }
  return out;
}

// Fills heads and, where the pushlog extension answers, id/date/user from the repository.
void ask_hg(const std::string& repo, const std::string& first, const std::string& last, Push& push,
            std::optional<uint64_t>& id, std::optional<int64_t>& date, std::optional<std::string>& user) {
  if (auto out = run_hg({"log", "-R", repo, "-r", fmt::format("heads({}:{})", first, last), "-T", "{node}\\n"})) {
    auto heads = split_lines(*out);
    if (!heads.empty()) push.heads = std::move(heads);
  } else {
    log::info("event=hg-unavailable note=\"hg log failed or hg is not installed; heads from HG_NODE_LAST\"");
    return;
  }
  auto out = run_hg({"log", "-R", repo, "-r", first, "-T", "{pushid}\\t{pushdate|hgdate}\\t{pushuser}\\n"});
  if (!out) return;  // no pushlog extension: its keywords are unknown
  const auto lines = split_lines(*out);
  if (lines.empty()) return;
  const std::string& l = lines.front();
  const size_t t1 = l.find('\t'), t2 = t1 == std::string::npos ? t1 : l.find('\t', t1 + 1);
  if (t2 == std::string::npos) return;
  char* end = nullptr;
  const unsigned long long pid = std::strtoull(l.c_str(), &end, 10);
  if (end == l.c_str() + t1 && pid > 0 && !id) id = pid;
  const long long secs = std::strtoll(l.c_str() + t1 + 1, &end, 10);
  if (end != l.c_str() + t1 + 1 && secs > 0 && !date) date = secs;
  if (t2 + 1 < l.size() && !user) user = l.substr(t2 + 1);
}

std::string push_id_text(const std::optional<uint64_t>& id) {
  return id ? fmt::format(" {}", *id) : std::string();
}

// The routing key: the repository's path below --repo-root ("integration/autoland"), or its
// directory name without --repo-root. Throws UsageError when the repository is not below it.
std::string routing_key_for(const HookOptions& ho, const std::filesystem::path& repo) {
  if (!ho.routing_key.empty()) return ho.routing_key;
  if (ho.repo_root.empty()) return repo.filename().string();
  const auto root = std::filesystem::weakly_canonical(ho.repo_root);
  const auto rel = repo.lexically_relative(root);
  if (rel.empty() || rel == "." || rel.begin()->string() == "..") {
    throw UsageError(fmt::format("the repository {} is not below --repo-root {}", repo.string(), root.string()));
  }
  return rel.generic_string();
}

int run_hook_logged(const HookOptions& ho, const CommonOptions& co, std::string& summary);

}  // namespace

// The pusher sees one line when the push reached the bus, every log line when it did not.
int run_hook(const HookOptions& ho, const CommonOptions& co) {
  if (ho.verbose) {
    std::string summary;
    return run_hook_logged(ho, co, summary);
  }
  QuietStderr quiet;
  std::string summary;
  const int rc = run_hook_logged(ho, co, summary);
  quiet.release(rc != kExitOk);
  if (rc == kExitOk) {
    std::fprintf(stderr, "hydrant: %s\n", summary.c_str());
  } else {
    std::fprintf(stderr, "hydrant-hg hook: the push is not on the bus (exit %d: %s); the push itself is kept\n", rc,
                 rc == kExitUnflushed ? "the broker did not confirm it" :
                 rc == kExitRefused ? "the broker refused the credentials" :
                 rc == kExitUsage ? "bad options or environment" : "the broker refused the message");
  }
  return rc;
}

namespace {

int run_hook_logged(const HookOptions& ho, const CommonOptions& co, std::string& summary) {
  const auto node = env("HG_NODE");
  if (!node) {
    std::fprintf(stderr, "hydrant-hg hook: HG_NODE is not set: run it as a Mercurial changegroup hook\n");
    return kExitUsage;
  }
  if (auto type = env("HG_HOOKTYPE"); type && *type != "changegroup") {
    std::fprintf(stderr, "hydrant-hg hook: installed as a %s hook; it must be a changegroup hook "
                         "(one message per push)\n", type->c_str());
    return kExitUsage;
  }
  const auto last = env("HG_NODE_LAST").value_or(*node);
  std::error_code ec;
  const auto repo = std::filesystem::weakly_canonical(
      ho.repo_path.empty() ? std::filesystem::current_path() : std::filesystem::path(ho.repo_path), ec);
  std::string key;
  try {
    key = routing_key_for(ho, repo);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "hydrant-hg hook: %s\n", e.what());
    return kExitUsage;
  }

  Push push;
  push.repo_url = ho.base_url.empty() ? "file://" + repo.string() : trim_url(ho.base_url) + "/" + key;
  push.heads = {last};
  push.source = env("HG_SOURCE");
  std::optional<uint64_t> id = ho.push_id;
  std::optional<int64_t> date = ho.push_date;
  std::optional<std::string> user = ho.push_user;
  if (ho.use_hg) ask_hg(repo.string(), *node, last, push, id, date, user);
  push.push_id = id;
  push.time = date ? *date : static_cast<int64_t>(std::time(nullptr));
  push.user = user ? user : env("REMOTE_USER") ? env("REMOTE_USER") : env("USER");

  std::string topic = topic_with_words(co.exchange_topic(), {key});
  const std::string topic_for_summary = topic;
  std::string payload = encode_push_message(push);
  // Connect and confirm within --timeout; a signal or the deadline ends the hook with 3.
  ExitGuard guard(ho.timeout, kExitUnflushed, kExitUnflushed);
  Publisher publisher(co, "hg");
  try {
    if (!publisher.start(co.connect_timeout)) return kExitUnflushed;  // a signal: not published
  } catch (const RefusedCredentials& e) {
    std::fprintf(stderr, "hydrant-hg hook: %s\n", e.what());
    return kExitRefused;
  } catch (const ConnectTimedOut& e) {
    std::fprintf(stderr, "hydrant-hg hook: %s\n", e.what());
    return kExitUnflushed;
  }
  publisher.publish(std::move(topic), std::move(payload));
  const size_t left = publisher.stop();
  if (left) return kExitUnflushed;
  if (publisher.stats().refused) return kExitFailed;  // the refusal is logged by the Publisher
  log::info("event=push-published repo={} node={} heads={}", key, *node, push.heads.size());
  summary = fmt::format("push{} published on {}", push_id_text(push.push_id), topic_for_summary);
  return kExitOk;
}

}  // namespace

}  // namespace hydrant::publishers::hg
