// Router: the broker-wide subscription index and retained-message store, shared by all worker
// threads. match() runs under a reader lock on every publish and yields one Target per session
// (overlapping subscriptions merged: highest QoS, every subscription identifier), plus one
// Target per matching shared-subscription group (one member picked round-robin). Subscribing and
// retained updates take the writer side; both are rare compared with publishes.
//
// Does not deliver anything: the caller hands each Target to the worker that owns the session.
#pragma once

#include <cstdint>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "codec/packet.hpp"
#include "fanout/message.hpp"
#include "router/session_handle.hpp"
#include "topics/retained_index.hpp"
#include "topics/subscription_trie.hpp"

namespace hydrant::router {

struct Target {
  SessionId session = 0;
  uint32_t worker = 0;  // owner when matched; `handle->worker` is the current one
  HandleRef handle;
  uint8_t qos = 0;                   // granted QoS (the caller takes the min with the message's)
  bool retain_as_published = false;
  std::vector<uint32_t> subscription_ids;
};

class Router {
 public:
  // Adds or replaces a subscription. `filter` is the full, validated filter ($share/... allowed).
  // Returns true when it did not exist before.
  bool subscribe(std::string_view filter, const HandleRef& handle,
                 const codec::SubscriptionOptions& options, uint32_t subscription_id);
  // Returns true when the subscription existed.
  bool unsubscribe(std::string_view filter, const SessionHandle& session);

  // Caps on subscriptions: per user (SessionHandle::owner; anonymous sessions have their own
  // caps) and in all; 0 = unlimited.
  void set_subscription_limits(size_t per_user, size_t total);
  // Why `session` may not add a new filter now (a static string), or nullptr when it may.
  // Workers check and subscribe without one lock, so each may overshoot a cap by one filter.
  const char* subscription_refusal(const SessionHandle& session) const;

  // Appends the deliveries for a message published on `topic` by `origin` (no-local).
  void match(std::string_view topic, SessionId origin, std::vector<Target>& out) const {
    match(std::span<const std::string_view>(&topic, 1), origin, out);
  }
  // The same for a message routed to several topics at once (its topic and its CC'd routing
  // keys): each session, and each shared-subscription group, still gets it once.
  void match(std::span<const std::string_view> topics, SessionId origin,
             std::vector<Target>& out) const;

  // Stores a retained message, or deletes the topic's one when the payload is empty
  // [MQTT-3.3.1-6, MQTT-3.3.1-7].
  void retain(const fanout::MessageRef& msg);
  // Caps on retained messages: per owner (retained_owner()) and in all; 0 = unlimited.
  void set_retained_limits(size_t per_owner, size_t total);
  // Whether a retained publish to `topic` may be stored: replacing the topic's message or
  // deleting it always may; a new topic may while its owner and the broker are under their caps
  // (expired messages are purged first, at most once a second, so that they do not count).
  bool retain_allowed(std::string_view topic, bool deletes, fanout::Clock::time_point now);
  // Who a retained topic counts against: <owner> for exchange/<owner>/..., else its first level.
  static std::string_view retained_owner(std::string_view topic);

  // Appends the live retained messages matching a non-shared filter.
  void retained_for(std::string_view filter, fanout::Clock::time_point now,
                    std::vector<fanout::MessageRef>& out) const;
  // One chunk of them, in topic order (topics::RetainedIndex::match_after): at most `limit`
  // matches strictly after the topic `after`, the live ones appended to `out`; `after` is moved
  // to the last topic matched. Returns true when no match is left after it. Retained replay
  // after SUBSCRIBE pulls these as the client reads (session::Session::pump).
  bool retained_after(std::string_view filter, std::string& after, size_t limit,
                      fanout::Clock::time_point now, std::vector<fanout::MessageRef>& out) const;

  size_t subscription_count() const;
  size_t retained_count() const;

 private:
  struct Entry {
    codec::SubscriptionOptions options;
    uint32_t subscription_id = 0;
    HandleRef handle;
  };
  mutable std::shared_mutex subs_mutex_;
  topics::SubscriptionTrie<SessionId, Entry> subscriptions_;
  // Under subs_mutex_: filters held per user (only users with some), and the caps.
  std::unordered_map<std::string, size_t, topics::detail::LevelHash, std::equal_to<>> subs_per_user_;
  size_t subs_per_user_max_ = 0;
  size_t subs_total_max_ = 0;
  void count_retained(std::string_view topic, int delta);  // under retained_mutex_
  void purge_expired_retained(fanout::Clock::time_point now);  // under retained_mutex_

  mutable std::mutex retained_mutex_;
  topics::RetainedIndex<fanout::MessageRef> retained_;
  std::unordered_map<std::string, size_t, topics::detail::LevelHash, std::equal_to<>> retained_per_owner_;
  size_t retained_per_owner_max_ = 0;
  size_t retained_total_max_ = 0;
  fanout::Clock::time_point last_retained_purge_{};
};

}  // namespace hydrant::router
