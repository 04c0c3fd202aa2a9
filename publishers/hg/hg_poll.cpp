// poll mode: follows <url>/json-pushes?version=2&full=1&startID=<last>&endID=<last+batch> and
// publishes each new push, in push id order, as the hook would (hg_push.hpp). The state file
// holds the last push id the broker confirmed, as decimal text; it is replaced atomically
// (temp file, fsync, rename, fsync of the directory) only after the PUBACKs of that push and of
// every push before it. A restart therefore repeats nothing that was confirmed and loses nothing
// that was not (QoS 1: a push whose PUBACK was lost with the connection may arrive twice).
// Without a state file the first run starts at the repository's current lastpushid (nothing
// old is published) unless --from-start. HTTP failures and answers that are not json-pushes
// JSON are logged and tried again at the next interval; the state does not move past them.
// While a batch waits for the broker (down, restarting), no further request is made.
#include <httplib.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "exit_guard.hpp"
#include "hg_modes.hpp"
#include "hg_push.hpp"
#include "input.hpp"
#include "publisher.hpp"
#include "routing.hpp"
#include "util/files.hpp"
#include "util/log.hpp"

namespace hydrant::publishers::hg {

namespace {

struct Endpoint {
  std::string origin;  // https://hg.mozilla.org[:port]
  std::string path;    // /integration/autoland ("" for a repository at the root)
};

Endpoint split_url(const std::string& url) {
  const size_t host = url.find("://") + 3;
  const size_t slash = url.find('/', host);
  if (slash == std::string::npos) return {url, ""};
  return {url.substr(0, slash), trim_url(url.substr(slash))};
}

// The confirmations of the pushes of one batch, filled by the Publisher's callbacks.
class Confirmations {
 public:
  void expect(uint64_t id) {
    std::lock_guard lock(mutex_);
    waiting_.push_back(id);
  }
  void settle(uint64_t id) {
    {
      std::lock_guard lock(mutex_);
      settled_.insert(id);
    }
    changed_.notify_all();
  }
  // Waits up to `timeout` for a change; returns the highest id whose PUBACK arrived along with
  // those of every push before it in the batch (nullopt: none yet), and whether all arrived.
  std::pair<std::optional<uint64_t>, bool> wait_prefix(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, timeout,
                      [&] { return settled_.size() > reported_ || settled_.size() == waiting_.size(); });
    reported_ = settled_.size();
    std::optional<uint64_t> upto;
    size_t i = 0;
    for (; i < waiting_.size() && settled_.contains(waiting_[i]); ++i) upto = waiting_[i];
    return {upto, i == waiting_.size()};
  }
  void clear() {
    std::lock_guard lock(mutex_);
    waiting_.clear();
    settled_.clear();
    reported_ = 0;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<uint64_t> waiting_;  // in publish order = push id order
  std::set<uint64_t> settled_;
  size_t reported_ = 0;
};

class Poller {
 public:
  Poller(const PollOptions& po, const CommonOptions& co)
      : po_(po), co_(co), repo_url_(trim_url(po.url)), endpoint_(split_url(repo_url_)),
        key_(po.routing_key.empty() ? repo_path_of_url(repo_url_) : po.routing_key),
        topic_(topic_with_words(co.exchange_topic(), {key_})), http_(endpoint_.origin) {
    http_.set_connection_timeout(po.http_timeout.count());
    http_.set_read_timeout(po.http_timeout.count());
    http_.set_write_timeout(po.http_timeout.count());
    http_.set_follow_location(true);
    http_.set_default_headers({{"User-Agent", "hydrant-hg"}});
  }

  int run();

 private:
  std::optional<Pushlog> fetch(const std::string& query);
  bool load_state();
  void save_state(uint64_t id);
  // Publishes the pushes after `last_`; waits for their PUBACKs, saving the state as they come.
  // False when stopped before all were confirmed.
  bool publish_batch(const Pushlog& log, uint64_t end);
  void sleep_interval();

  const PollOptions& po_;
  const CommonOptions& co_;
  const std::string repo_url_;
  const Endpoint endpoint_;
  const std::string key_;
  const std::string topic_;
  httplib::Client http_;
  std::unique_ptr<Publisher> publisher_;
  Confirmations confirmations_;
  std::optional<uint64_t> last_;  // the last push id confirmed (and in the state file)
};

std::optional<Pushlog> Poller::fetch(const std::string& query) {
  const std::string target = endpoint_.path + "/json-pushes?" + query;
  auto res = http_.Get(target);
  if (!res) {
    log::warn("event=fetch-failed url={}{} error=\"{}\"", endpoint_.origin, target, httplib::to_string(res.error()));
    return std::nullopt;
  }
  if (res->status != 200) {
    log::warn("event=fetch-failed url={}{} status={}", endpoint_.origin, target, res->status);
    return std::nullopt;
  }
  std::string why;
  size_t skipped = 0;
  auto log = parse_pushlog(res->body, why, skipped);
  if (!log) {
    log::warn("event=answer-skipped url={}{} why=\"{}\" bytes={}", endpoint_.origin, target, why, res->body.size());
    return std::nullopt;
  }
  if (skipped) log::warn("event=pushes-skipped url={}{} count={} why=\"no numeric id or no changesets\"",
                         endpoint_.origin, target, skipped);
  return log;
}

bool Poller::load_state() {
  if (po_.state_file.empty()) return true;
  bool exists = false;
  const std::string text = util::read_file(po_.state_file, exists);
  if (!exists) return true;
  std::string_view t = text;
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ' || t.back() == '\r')) t.remove_suffix(1);
  try {
    last_ = parse_number("--state-file", t, 0, UINT64_MAX);
  } catch (const UsageError& e) {
    log::error("event=state-unreadable file={} why=\"{}\"", po_.state_file, e.what());
    return false;
  }
  return true;
}

void Poller::save_state(uint64_t id) {
  last_ = id;
  if (po_.state_file.empty() || co_.dry_run) return;
  util::write_file_atomically(po_.state_file, fmt::format("{}\n", id), 0644);
  log::debug("event=state-saved file={} last_push_id={}", po_.state_file, id);
}

bool Poller::publish_batch(const Pushlog& log, uint64_t end) {
  confirmations_.clear();
  size_t n = 0;
  for (const Push& p : log.pushes) {
    if (*p.push_id <= *last_ || *p.push_id > end) continue;
    Push push = p;
    push.repo_url = repo_url_;
    push.source = "serve";
    const uint64_t id = *p.push_id;
    confirmations_.expect(id);
    const bool queued = publisher_->publish(topic_, encode_push_message(push), [this, id](bool ok, const std::string& why) {
      if (!ok) log::error("event=push-refused push_id={} why=\"{}\" note=\"skipped: the broker will not take it\"", id, why);
      confirmations_.settle(id);
    });
    if (!queued) return false;
    ++n;
  }
  // Every push up to here is published or has nothing to publish (see run()).
  uint64_t upto = std::max(*last_, std::min(end, log.last_push_id));
  if (!log.pushes.empty()) upto = std::max(upto, std::min(end, *log.pushes.back().push_id));
  for (;;) {
    auto [prefix, all] = confirmations_.wait_prefix(std::chrono::milliseconds(200));
    if (all) {
      if (upto != *last_) save_state(upto);
      if (n) log::info("event=pushes-published repo={} count={} last_push_id={}", key_, n, upto);
      return true;
    }
    if (prefix && *prefix != *last_) save_state(*prefix);
    if (g_stop_requested.load()) return false;
  }
}

void Poller::sleep_interval() {
  for (auto until = std::chrono::steady_clock::now() + po_.interval;
       std::chrono::steady_clock::now() < until && !g_stop_requested.load();) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

int Poller::run() {
  if (!load_state()) return kExitFailed;
  publisher_ = std::make_unique<Publisher>(co_, "hg");
  try {
    ExitGuard guard(std::nullopt, kExitOk, kExitOk);  // a signal while connecting: nothing to lose
    // --once gives up after --connect-timeout (the state file keeps its place: nothing is lost).
    publisher_->start(po_.once ? co_.connect_timeout : std::chrono::seconds(0));
  } catch (const RefusedCredentials& e) {
    std::fprintf(stderr, "hydrant-hg poll: %s\n", e.what());
    return kExitRefused;
  } catch (const ConnectTimedOut& e) {
    std::fprintf(stderr, "hydrant-hg poll: %s\n", e.what());
    return kExitUnflushed;
  }
  int status = kExitOk;
  while (!g_stop_requested.load()) {
    if (!last_) {
      if (po_.from_start) {
        last_ = 0;
      } else if (auto log = fetch("version=2")) {
        save_state(log->last_push_id);  // nothing published: nothing to confirm
        log::info("event=state-started repo={} last_push_id={} note=\"older pushes are not published\"", key_, *last_);
      }
    }
    std::optional<Pushlog> log;
    uint64_t end = 0;
    if (last_) {
      end = *last_ + po_.batch;
      log = fetch(fmt::format("version=2&full=1&startID={}&endID={}", *last_, end));
    }
    if (!log) {
      if (po_.once) {
        status = kExitFailed;
        break;
      }
      sleep_interval();
      continue;
    }
    if (!publish_batch(*log, end)) break;
    if (log->last_push_id > *last_) continue;  // more than one batch behind: go on at once
    if (po_.once) break;
    sleep_interval();
  }
  const size_t left = publisher_->stop();
  // The last callbacks may still be running after stop(): let them land before the final save.
  for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);;) {
    auto [prefix, all] = confirmations_.wait_prefix(std::chrono::milliseconds(50));
    if (prefix && (!last_ || *prefix > *last_)) save_state(*prefix);
    if (all || std::chrono::steady_clock::now() >= until) break;
  }
  log::info("event=poll-stopped repo={} last_push_id={} unconfirmed={}", key_,
            last_ ? fmt::format("{}", *last_) : std::string("none"), left);
  if (left) return kExitUnflushed;
  return status;
}

}  // namespace

int run_poll(const PollOptions& po, const CommonOptions& co) {
  Poller poller(po, co);
  return poller.run();
}

}  // namespace hydrant::publishers::hg
