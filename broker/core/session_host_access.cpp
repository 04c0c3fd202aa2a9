// SessionHost's part in the access model (issue 5): closing connections whose credentials were
// revoked, the once-a-second queue sweep (notices, deletion, the admin API's directory), and
// noting exchanges in the broker's registry. See session_host.hpp.
#include <map>

#include "base/json_writer.hpp"
#include "auth/rules.hpp"
#include "core/broker.hpp"
#include "core/session_host.hpp"
#include "util/log.hpp"
#include "util/log_untrusted.hpp"
#include "util/wall_clock.hpp"

namespace hydrant::core {

using session::ClientLink;

auth::AccessControl& SessionHost::access() { return broker_.access(); }

SessionHost::Directory SessionHost::directory() const {
  std::lock_guard lock(directory_mutex_);
  return directory_;
}

void SessionHost::sweep_queues() {
  const QueuePolicy policy{limits_.max_queued_messages, limits_.queue_warning_percent,
                           limits_.queue_overlimit_timeout};
  const auto users = broker_.access().users();
  std::vector<Notice> notices;
  std::vector<router::SessionId> doomed;
  Directory dir;
  std::map<std::string_view, uint32_t> per_user;
  for (auto& [id, s] : sessions_) {
    if (s->link()) {
      if (const auth::Principal* p = s->link()->principal()) {
        ++per_user[p->user];
      } else {
        ++dir.anonymous_connections;
      }
    }
    const std::string_view owner = auth::queue_owner(s->client_id());
    if (owner.empty()) continue;
    QueueSummary summary;
    if (broker_.queue_monitor().check(*s, owner, policy, *users, now_, notices, summary)) {
      doomed.push_back(id);
    } else {
      dir.queues.push_back(std::move(summary));
    }
  }
  broker_.queue_monitor().sweep(now_);
  record_cursors();
  for (const auto& [user, n] : per_user) dir.connections_per_user.emplace_back(user, n);
  {
    std::lock_guard lock(directory_mutex_);
    directory_ = std::move(dir);
  }
  for (const Notice& n : notices) send_notice(n);
  for (auto id : doomed) end_session(id);
}

// A notice for a queue's owner: a log line, a message on $SYS/hydrant/notices/<owner> (JSON, QoS
// 1, so the owner's own queue keeps it), and the operator's notify command.
void SessionHost::send_notice(const Notice& n) {
  log::warn("event=notice kind={} owner=\"{}\" queue=\"{}\" queued={} limit={} text=\"{}\"", n.kind,
            n.owner, n.queue, n.queued, n.limit, n.text);
  JsonWriter w;
  w.begin_object()
      .member("kind", n.kind)
      .member("queue", n.queue)
      .member("queued", static_cast<uint64_t>(n.queued))
      .member("limit", static_cast<uint64_t>(n.limit))
      .member("text", n.text)
      .end_object();
  codec::Properties props;
  props.content_type = "application/json";
  publish(fanout::Message::create(std::string(auth::kNoticesPrefix) + n.owner, w.str(), 1, false,
                                  props, 0, now_));
  broker_.notify_owner(n);
}

void SessionHost::revalidate_credentials() {
  auth::AccessControl& access = broker_.access();
  std::vector<ClientLink*> revoked;
  for (auto& [id, s] : sessions_) {
    ClientLink* link = s->link();
    if (link && link->principal() && !access.still_valid(*link->principal())) {
      revoked.push_back(link);
    }
  }
  for (ClientLink* link : revoked) {
    log::info("host={} client=\"{}\" user=\"{}\" event=credentials-revoked", index_,
              log::untrusted(link->client_id()), link->principal()->user);
    const uint64_t conn = link->conn_id();
    link->disconnect(ReasonCode::NotAuthorized, "credentials revoked");
    close_link(conn);
  }
}

size_t SessionHost::exchange_levels(std::string_view topic) {
  return broker_.exchanges().name_levels(topic);
}

bool SessionHost::note_exchange(std::string_view topic) {
  const uint64_t generation = broker_.exchanges_generation();
  if (generation != noted_generation_) {
    noted_exchanges_.clear();
    noted_generation_ = generation;
  }
  // exchange/<owner>/<first level>: known here already unless this is its first publish.
  size_t end = topic.find('/', topic.find('/', std::string_view("exchange/").size()) + 1);
  const std::string_view key = topic.substr(0, end);
  if (noted_exchanges_.find(key) != noted_exchanges_.end()) return true;
  if (!broker_.exchanges().note_publish(topic, util::unix_seconds())) return false;
  noted_exchanges_.emplace(key);
  return true;
}

}  // namespace hydrant::core
