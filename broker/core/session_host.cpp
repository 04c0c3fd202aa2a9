// SessionHost: session ownership (open, close, takeover, migration between hosts, expiry, wills),
// routing (the session::Services implementation) and the task inbox. See session_host.hpp.
#include "core/session_host.hpp"

#include "core/broker.hpp"
#include "util/log.hpp"

namespace hydrant::core {

using session::ClientLink;
using session::Session;

SessionHost::SessionHost(Broker& broker, uint32_t index, session::Limits limits)
    : broker_(broker), index_(index), limits_(limits), now_(fanout::Clock::now()),
      store_(broker.store()) {}

SessionHost::~SessionHost() = default;

void SessionHost::post(Task task) {
  bool was_empty;
  {
    std::lock_guard lock(inbox_mutex_);
    was_empty = inbox_.empty();
    inbox_.push_back(std::move(task));
  }
  if (was_empty) wake();  // one wake-up per batch of tasks
}

void SessionHost::drain_inbox() {
  {
    std::lock_guard lock(inbox_mutex_);
    inbox_work_.swap(inbox_);
  }
  for (Task& t : inbox_work_) handle(std::move(t));
  inbox_work_.clear();
}

void SessionHost::handle(Task&& task) {
  std::visit(
      [this](auto&& t) {
        using T = std::decay_t<decltype(t)>;
        if constexpr (std::is_same_v<T, DeliverTask>) {
          handle_deliver(t);
        } else if constexpr (std::is_same_v<T, EndSessionTask>) {
          end_session(t.session);
        } else if constexpr (std::is_same_v<T, MigrateTask>) {
          handle_migrate(t);
        } else if constexpr (std::is_same_v<T, ArriveTask>) {
          handle_arrive(t);
        } else if constexpr (std::is_same_v<T, LimitsTask>) {
          limits_ = t.limits;
        } else if constexpr (std::is_same_v<T, CallTask>) {
          t.fn();
        } else if constexpr (std::is_same_v<T, RevalidateTask>) {
          revalidate_credentials();
        } else if constexpr (std::is_same_v<T, ConfirmTask>) {
          handle_confirm(t);
        } else if constexpr (std::is_same_v<T, BarrierTask>) {
          broker_.barrier_passed(t.checkpoint);
        } else {
          stopping_ = true;
        }
      },
      std::move(task));
}

session::Session* SessionHost::session_of(std::string_view client_id) {
  const auto handle = broker_.registry().find(client_id);
  if (!handle) return nullptr;
  auto it = sessions_.find(handle->id);
  return it == sessions_.end() ? nullptr : it->second.get();
}

session::Session& SessionHost::new_session(const router::HandleRef& handle) {
  auto s = std::make_unique<Session>(handle);
  s->use_host_settings(limits_, counters_);
  auto& ref = *s;
  sessions_[handle->id] = std::move(s);
  return ref;
}

void SessionHost::open_session(ClientLink& link, bool clean_start) {
  const auth::Principal* who = link.principal();
  // In a cluster a user's session may live on another node: taken over from there first (the
  // connection waits in AwaitSession), unless this node has it. Only users have persistent
  // sessions (anyone, with --open), so an anonymous connection never costs the engine a look-up.
  const bool may_persist = (who && !who->user.empty()) || broker_.access().open();
  if (!clean_start && may_persist && store_ && !broker_.registry().find(link.client_id())) {
    const uint64_t conn = link.conn_id();
    const bool asked = store_->take_session(
        link.client_id(), [this, conn, client_id = link.client_id()](store::TakenSession taken) {
          post(CallTask{[this, conn, client_id, taken = std::move(taken)] { finish_take(conn, client_id, taken); }});
        });
    if (asked) return;
  }
  open_local_session(link, clean_start);
}

void SessionHost::open_local_session(ClientLink& link, bool clean_start) {
  const auth::Principal* who = link.principal();
  auto claim = broker_.registry().claim(link.client_id(), index_, clean_start,
                                        who ? std::string_view(who->user) : std::string_view());
  if (claim.previous && !claim.resumed) {
    // Clean start replaces the old session, wherever it lives [MQTT-3.1.2-4].
    if (claim.previous_worker == index_) {
      end_session(claim.previous->id);
    } else {
      broker_.host(claim.previous_worker).post(EndSessionTask{claim.previous->id});
    }
  }
  if (!claim.resumed) {
    link.attach_session(&new_session(claim.handle), false);
    return;
  }
  const auto id = claim.handle->id;
  if (claim.previous_worker != index_) {
    // The session lives on another worker: ask for it; attach when it arrives.
    awaiting_arrival_[id] = link.conn_id();
    broker_.host(claim.previous_worker).post(MigrateTask{id, index_});
    return;
  }
  auto it = sessions_.find(id);
  if (it == sessions_.end()) {
    // In transit to this worker for an earlier connection: this one waits for it instead.
    awaiting_arrival_[id] = link.conn_id();
    return;
  }
  take_over_local(*it->second);
  link.attach_session(it->second.get(), true);
}

void SessionHost::take_over_local(Session& s) {
  if (s.link()) {
    // The old connection goes; its will is published unless the session continues past a will
    // delay [MQTT-3.1.4-3, MQTT-3.1.3-9].
    if (s.will() && s.will()->delay == 0) publish_will(s);
    ClientLink* old = s.detach();
    old->close_taken_over();
    close_link(old->conn_id());
  }
}

void SessionHost::close_session(ClientLink& link, bool publish_will_now) {
  Session* s = link.session();
  if (!s || s->link() != &link) return;
  s->detach();
  if (!publish_will_now && s->will()) {
    s->drop_will();
    if (store_ && s->store_incarnation()) record_will(*s);  // no node publishes it now
  }
  if (s->expiry_interval() == 0) return end_session(s->id());
  s->start_expiry(now_);
  if (s->will() && s->will()->delay == 0) {
    publish_will(*s);
  } else {
    s->schedule_will(now_);
  }
}

void SessionHost::end_session(router::SessionId id) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) {
    // Still on its way here for a connection that resumed it: end it when it arrives.
    if (awaiting_arrival_.count(id)) deferred_migrations_[id] = kEndOnArrival;
    return;
  }
  Session& s = *it->second;
  if (!broker_.registry().release(*s.handle(), index_)) return;  // being resumed elsewhere
  if (ClientLink* old = s.detach()) {
    old->close_taken_over();
    close_link(old->conn_id());
  }
  publish_will(s);
  for (const auto& [filter, rec] : s.subscriptions()) broker_.router().unsubscribe(filter, *s.handle());
  if (store_ && s.store_incarnation()) store_->session_end(s.client_id(), s.store_incarnation());
  log::debug("host={} client=\"{}\" event=session-ended", index_, s.client_id());
  broker_.note_released((s.queued() + s.inflight()) * sizeof(session::Delivery));
  sessions_.erase(it);
}

void SessionHost::expire_sessions() {
  if (now_ >= next_queue_sweep_) {
    next_queue_sweep_ = now_ + std::chrono::seconds(1);
    sweep_queues();
  }
  std::vector<router::SessionId> expired;
  for (auto& [id, s] : sessions_) {
    if (s->link()) continue;
    if (s->will_is_due(now_)) publish_will(*s);
    if (s->has_expired(now_)) expired.push_back(id);
  }
  for (auto id : expired) end_session(id);
}

void SessionHost::handle_migrate(const MigrateTask& t) {
  auto it = sessions_.find(t.session);
  if (it == sessions_.end()) {
    // Still on its way here: pass it on when it arrives.
    deferred_migrations_[t.session] = t.to;
    return;
  }
  take_over_local(*it->second);
  it->second->clear_deadlines();
  auto s = std::move(it->second);
  sessions_.erase(it);
  broker_.host(t.to).post(ArriveTask{std::move(s)});
}

void SessionHost::handle_arrive(ArriveTask& t) {
  const auto id = t.session->id();
  auto waiting = awaiting_arrival_.find(id);
  const uint64_t conn_id = waiting == awaiting_arrival_.end() ? 0 : waiting->second;
  if (waiting != awaiting_arrival_.end()) awaiting_arrival_.erase(waiting);
  auto buffered = std::move(in_transit_[id]);
  in_transit_.erase(id);
  t.session->use_host_settings(limits_, counters_);

  if (auto d = deferred_migrations_.find(id); d != deferred_migrations_.end()) {
    // Another connection took the session over while it travelled: this one loses it.
    const uint32_t to = d->second;
    deferred_migrations_.erase(d);
    if (auto* link = link_for(conn_id)) {
      link->close_taken_over();
      close_link(conn_id);
    }
    if (to == kEndOnArrival) {
      sessions_[id] = std::move(t.session);
      end_session(id);
      return;
    }
    broker_.host(to).post(ArriveTask{std::move(t.session)});
    for (auto& task : buffered) broker_.host(to).post(std::move(task));
    return;
  }
  Session& s = *t.session;
  sessions_[id] = std::move(t.session);
  auto* link = link_for(conn_id);
  if (link && link->state() == session::LinkState::AwaitSession) {
    link->attach_session(&s, true);
  } else if (s.expiry_interval() == 0) {
    end_session(id);
    return;
  } else {
    s.start_expiry(now_);
  }
  for (auto& task : buffered) handle_deliver(task);
}

// ---- routing ----

bool SessionHost::publish(const fanout::MessageRef& msg, std::span<const std::string> cc_topics) {
  // Traffic counts per exchange as registered: a declared `v1/change-merged` apart from `v1`.
  const size_t levels = broker_.exchanges().has_multi_level() ? exchange_levels(msg->topic()) : 1;
  activity_.record(msg->topic(), msg->payload().size(), now_, std::chrono::system_clock::now(), levels);
  if (msg->retain()) {
    broker_.router().retain(msg);
    // A logged message's retained record went into the log with it; others are recorded here
    // (not $SYS: the broker publishes those again after a restart).
    if (store_ && msg->sequence() == 0 && !msg->topic().starts_with('$')) store_->retain(msg);
  }
  match_scratch_.clear();
  if (cc_topics.empty()) {
    broker_.router().match(msg->topic(), msg->origin_session(), match_scratch_);
  } else {
    topics_scratch_.assign(1, msg->topic());
    topics_scratch_.insert(topics_scratch_.end(), cc_topics.begin(), cc_topics.end());
    broker_.router().match(topics_scratch_, msg->origin_session(), match_scratch_);
  }
  if (match_scratch_.empty()) return false;
  remote_scratch_.resize(broker_.host_count());
  for (auto& t : match_scratch_) {
    if (t.worker == index_) {
      deliver_local(msg, t);
    } else {
      remote_scratch_[t.worker].push_back(std::move(t));
    }
  }
  for (uint32_t w = 0; w < remote_scratch_.size(); ++w) {
    if (remote_scratch_[w].empty()) continue;
    broker_.host(w).post(DeliverTask{msg, std::move(remote_scratch_[w])});
    remote_scratch_[w].clear();
  }
  return true;
}

void SessionHost::deliver_local(const fanout::MessageRef& msg, const router::Target& t) {
  auto it = sessions_.find(t.session);
  if (it != sessions_.end()) {
    const bool retain = t.retain_as_published && msg->retain();  // [MQTT-3.3.1-12, -13]
    it->second->deliver(msg, t.qos, retain, t.subscription_ids, now_);
    return;
  }
  const uint32_t owner = t.handle->worker.load();
  if (owner != index_) {
    broker_.host(owner).post(DeliverTask{msg, {t}});
  } else if (awaiting_arrival_.count(t.session)) {
    in_transit_[t.session].push_back(DeliverTask{msg, {t}});
  }
  // Otherwise the session ended meanwhile: nothing to deliver to.
}

void SessionHost::handle_deliver(DeliverTask& task) {
  for (const auto& t : task.targets) deliver_local(task.msg, t);
}

bool SessionHost::subscribe(Session& s, std::string_view filter,
                       const codec::SubscriptionOptions& options, uint32_t subscription_id) {
  if (store_ && s.store_incarnation()) store_->subscribe(s.client_id(), filter, options, subscription_id);
  return broker_.router().subscribe(filter, s.handle(), options, subscription_id);
}

bool SessionHost::unsubscribe(Session& s, std::string_view filter) {
  if (store_ && s.store_incarnation()) store_->unsubscribe(s.client_id(), filter);
  return broker_.router().unsubscribe(filter, *s.handle());
}

const char* SessionHost::subscription_refusal(const Session& s) const {
  return broker_.router().subscription_refusal(*s.handle());
}

bool SessionHost::retain_allowed(std::string_view topic, bool deletes) {
  return broker_.router().retain_allowed(topic, deletes, now_);
}

bool SessionHost::retained_after(std::string_view filter, std::string& after, size_t limit,
                                 std::vector<fanout::MessageRef>& out) {
  return broker_.router().retained_after(filter, after, limit, now_, out);
}

}  // namespace hydrant::core
