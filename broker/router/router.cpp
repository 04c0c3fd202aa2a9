// Router. See router.hpp.
#include "router/router.hpp"

#include <algorithm>

#include "topics/topic.hpp"

namespace hydrant::router {

namespace {
struct Hit {
  SessionId session;
  const HandleRef* handle;  // valid while the reader lock is held
  uint32_t worker;
  uint8_t qos;
  bool rap;
  uint32_t subscription_id;
};
}  // namespace

bool Router::subscribe(std::string_view filter, const HandleRef& handle,
                       const codec::SubscriptionOptions& options, uint32_t subscription_id) {
  std::string_view group;
  if (auto shared = topics::parse_shared(filter)) {
    group = shared->group;
    filter = shared->filter;
  }
  std::unique_lock lock(subs_mutex_);
  const bool added =
      subscriptions_.insert(filter, group, handle->id, Entry{options, subscription_id, handle});
  if (added && !handle->owner.empty()) ++subs_per_user_[handle->owner];
  return added;
}

bool Router::unsubscribe(std::string_view filter, const SessionHandle& session) {
  std::string_view group;
  if (auto shared = topics::parse_shared(filter)) {
    group = shared->group;
    filter = shared->filter;
  }
  std::unique_lock lock(subs_mutex_);
  const bool removed = subscriptions_.erase(filter, group, session.id);
  if (removed && !session.owner.empty()) {
    auto it = subs_per_user_.find(session.owner);
    if (it != subs_per_user_.end() && --it->second == 0) subs_per_user_.erase(it);
  }
  return removed;
}

void Router::set_subscription_limits(size_t per_user, size_t total) {
  std::unique_lock lock(subs_mutex_);
  subs_per_user_max_ = per_user;
  subs_total_max_ = total;
}

const char* Router::subscription_refusal(const SessionHandle& session) const {
  std::shared_lock lock(subs_mutex_);
  if (subs_total_max_ && subscriptions_.size() >= subs_total_max_) {
    return "the broker holds the most subscriptions allowed (max-subscriptions-total)";
  }
  if (subs_per_user_max_ && !session.owner.empty()) {
    auto it = subs_per_user_.find(session.owner);
    if (it != subs_per_user_.end() && it->second >= subs_per_user_max_) {
      return "this user holds the most subscriptions allowed (max-subscriptions-per-user)";
    }
  }
  return nullptr;
}

void Router::match(std::span<const std::string_view> topics, SessionId origin,
                   std::vector<Target>& out) const {
  // Hits are gathered per thread and reused, so a publish allocates nothing here once warm.
  thread_local std::vector<Hit> hits;
  thread_local std::vector<const void*> groups_seen;  // several topics: one pick per group
  hits.clear();
  groups_seen.clear();
  {
    std::shared_lock lock(subs_mutex_);
    for (const std::string_view topic : topics) {
    subscriptions_.match(
        topic,
        [&](const SessionId& id, const Entry& e) {
          if (e.options.no_local && id == origin) return;  // [MQTT-3.8.3-3]
          hits.push_back(Hit{id, &e.handle, e.handle->worker.load(std::memory_order_relaxed),
                             e.options.max_qos, e.options.retain_as_published, e.subscription_id});
        },
        [&](const auto& group) {
          if (group.members.empty()) return;
          if (topics.size() > 1) {
            if (std::find(groups_seen.begin(), groups_seen.end(), &group) != groups_seen.end()) return;
            groups_seen.push_back(&group);
          }
          const auto n = group.cursor.fetch_add(1, std::memory_order_relaxed);
          const auto& m = group.members[n % group.members.size()];
          Target t{m.key, m.value.handle->worker.load(std::memory_order_relaxed), m.value.handle,
                   m.value.options.max_qos, m.value.options.retain_as_published, {}};
          if (m.value.subscription_id) t.subscription_ids.push_back(m.value.subscription_id);
          out.push_back(std::move(t));
        });
    }
    if (hits.empty()) return;
    // One delivery per session: highest QoS, all subscription identifiers [MQTT-3.3.4-3..5].
    std::sort(hits.begin(), hits.end(),
              [](const Hit& a, const Hit& b) { return a.session < b.session; });
    for (size_t i = 0; i < hits.size();) {
      Target t{hits[i].session, hits[i].worker, *hits[i].handle, 0, false, {}};
      for (; i < hits.size() && hits[i].session == t.session; ++i) {
        t.qos = std::max(t.qos, hits[i].qos);
        t.retain_as_published = t.retain_as_published || hits[i].rap;
        if (hits[i].subscription_id) t.subscription_ids.push_back(hits[i].subscription_id);
      }
      if (topics.size() > 1 && t.subscription_ids.size() > 1) {
        // One subscription matched through two topics names its identifier once.
        std::sort(t.subscription_ids.begin(), t.subscription_ids.end());
        t.subscription_ids.erase(std::unique(t.subscription_ids.begin(), t.subscription_ids.end()),
                                 t.subscription_ids.end());
      }
      out.push_back(std::move(t));
    }
  }
}

void Router::retain(const fanout::MessageRef& msg) {
  std::lock_guard lock(retained_mutex_);
  if (msg->payload().empty()) {
    if (retained_.erase(msg->topic())) count_retained(msg->topic(), -1);
  } else {
    const bool is_new = retained_.find(msg->topic()) == nullptr;
    retained_.set(msg->topic(), msg);
    if (is_new) count_retained(msg->topic(), +1);
  }
}

std::string_view Router::retained_owner(std::string_view topic) {
  std::string_view first = topic.substr(0, topic.find('/'));
  if (first != "exchange" || first.size() == topic.size()) return first;
  const std::string_view rest = topic.substr(first.size() + 1);
  return rest.substr(0, rest.find('/'));
}

void Router::count_retained(std::string_view topic, int delta) {
  const std::string_view owner = retained_owner(topic);
  auto it = retained_per_owner_.find(owner);
  if (delta > 0) {
    if (it == retained_per_owner_.end()) it = retained_per_owner_.emplace(std::string(owner), 0).first;
    ++it->second;
  } else if (it != retained_per_owner_.end() && --it->second == 0) {
    retained_per_owner_.erase(it);
  }
}

void Router::set_retained_limits(size_t per_owner, size_t total) {
  std::lock_guard lock(retained_mutex_);
  retained_per_owner_max_ = per_owner;
  retained_total_max_ = total;
}

void Router::purge_expired_retained(fanout::Clock::time_point now) {
  if (now - last_retained_purge_ < std::chrono::seconds(1)) return;  // a full walk: bounded rate
  last_retained_purge_ = now;
  std::vector<std::string> expired;
  retained_.for_each([&](std::string_view topic, const fanout::MessageRef& msg) {
    if (msg->expired(now)) expired.emplace_back(topic);
  });
  for (const auto& topic : expired) {
    if (retained_.erase(topic)) count_retained(topic, -1);
  }
}

bool Router::retain_allowed(std::string_view topic, bool deletes, fanout::Clock::time_point now) {
  std::lock_guard lock(retained_mutex_);
  if (deletes || retained_.find(topic) != nullptr) return true;
  auto over = [&] {
    if (retained_total_max_ && retained_.size() >= retained_total_max_) return true;
    if (!retained_per_owner_max_) return false;
    auto it = retained_per_owner_.find(retained_owner(topic));
    return it != retained_per_owner_.end() && it->second >= retained_per_owner_max_;
  };
  if (!over()) return true;
  purge_expired_retained(now);
  return !over();
}

void Router::retained_for(std::string_view filter, fanout::Clock::time_point now,
                          std::vector<fanout::MessageRef>& out) const {
  std::lock_guard lock(retained_mutex_);
  retained_.match(filter, [&](std::string_view, const fanout::MessageRef& msg) {
    if (!msg->expired(now)) out.push_back(msg);
  });
}

bool Router::retained_after(std::string_view filter, std::string& after, size_t limit,
                            fanout::Clock::time_point now,
                            std::vector<fanout::MessageRef>& out) const {
  std::lock_guard lock(retained_mutex_);
  std::string_view last;  // a view into the index: copied before the lock is released
  const bool end = retained_.match_after(filter, after, limit,
                                         [&](std::string_view topic, const fanout::MessageRef& msg) {
    last = topic;
    if (!msg->expired(now)) out.push_back(msg);
  });
  if (!last.empty()) after.assign(last);
  return end;
}

size_t Router::subscription_count() const {
  std::shared_lock lock(subs_mutex_);
  return subscriptions_.size();
}

size_t Router::retained_count() const {
  std::lock_guard lock(retained_mutex_);
  return retained_.size();
}

}  // namespace hydrant::router
