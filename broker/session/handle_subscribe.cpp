// SUBSCRIBE and UNSUBSCRIBE: validate each filter, record it in the session and the router,
// answer SUBACK/UNSUBACK, then send the retained messages the retain handling asks for.
#include <unordered_set>

#include "session/client_link.hpp"
#include "topics/topic.hpp"
#include "util/log.hpp"

namespace hydrant::session {

using codec::ProtocolVersion;

// True when the operator refused subscriptions to `filter` (deny-subscribe): a deny filter that
// matches the requested filter read literally covers it and everything narrower.
bool ClientLink::denied(std::string_view filter) const {
  const auto shared = topics::parse_shared(filter);
  const std::string_view plain = shared ? shared->filter : filter;
  for (const auto& deny : services_.limits().deny_subscribe) {
    if (topics::match_filter(deny, plain)) return true;
  }
  return false;
}

// The access model for one filter: what it may reach (auth/rules.hpp), and the caps on how many
// subscriptions a session holds (`held`, counting this packet's so far; `exists`: the filter is
// one of them, so replacing it adds none).
Status ClientLink::check_subscribe_access(std::string_view filter, size_t held, bool exists) const {
  const uint32_t session_cap = services_.limits().max_subscriptions_per_session;
  if (session_cap && held >= session_cap && !exists) {
    return Error{ReasonCode::QuotaExceeded, "subscription limit per session"};
  }
  if (!exists) {
    if (const char* why = services_.subscription_refusal(*session_)) {
      return Error{ReasonCode::QuotaExceeded, why};
    }
  }
  if (services_.access().open()) return {};
  const auto shared = topics::parse_shared(filter);
  const auto decision = auth::check_subscribe(principal_.get(), shared ? shared->filter : filter);
  if (!decision.ok()) return Error{decision.code, decision.why};
  const uint32_t cap = services_.limits().anon_max_subscriptions;
  if (!principal_ && cap && held >= cap && !exists) {
    return Error{ReasonCode::QuotaExceeded, "subscription limit for anonymous clients"};
  }
  return {};
}

void ClientLink::handle_subscribe(const codec::Subscribe& s) {
  const uint32_t sub_id =
      s.properties.subscription_identifiers.empty() ? 0 : s.properties.subscription_identifiers[0];
  codec::Suback ack{s.packet_id, {}, {}};
  ack.reason_codes.reserve(s.subscriptions.size());
  struct RetainedSend {
    fanout::MessageRef msg;
    uint8_t qos;
  };
  // Retained messages are not collected here: each filter gets a cursor, and the session pulls
  // them a chunk at a time as the client reads (Session::pump).
  std::vector<RetainedReplay> retained;
  std::vector<fanout::MessageRef> found;
  // MQTT 5 replay from the message log (user property `replay`): read right after each filter
  // is in the router, sent after SUBACK and before any live message.
  std::optional<std::string_view> replay_from;
  for (const auto& up : s.properties.user_properties) {
    if (up.key == "replay") replay_from = up.value;
  }
  std::vector<RetainedSend> replayed;
  std::optional<Services::ReplayResult> replay_total;

  // The session's map is updated once at the end (a sorted vector: inserting filter by filter
  // would shift it once per filter, quadratic in a 65,535-filter SUBSCRIBE).
  std::vector<std::pair<std::string, SubscriptionRecord>> added;
  std::unordered_set<std::string_view> added_new;  // filters of this packet not held before
  size_t refusals_logged = 0;

  for (const auto& sub : s.subscriptions) {
    const auto& o = sub.options;
    if (auto ok = topics::validate_topic_filter(sub.filter); !ok) {
      ack.reason_codes.push_back(version_ == ProtocolVersion::V5 ? ReasonCode::TopicFilterInvalid
                                                                 : ReasonCode::UnspecifiedError);
      continue;
    }
    if (denied(sub.filter)) {
      ack.reason_codes.push_back(version_ == ProtocolVersion::V5 ? ReasonCode::NotAuthorized
                                                                 : ReasonCode::UnspecifiedError);
      continue;
    }
    const bool exists = session_->subscriptions.contains(sub.filter) ||
                        added_new.contains(sub.filter);
    const size_t held = session_->subscriptions.size() + added_new.size();
    if (auto checked = check_subscribe_access(sub.filter, held, exists); !checked.ok()) {
      const Error& e = checked.error();
      // One line per packet at most: a packet of 65,535 refused filters is one event.
      if (refusals_logged++ == 0) log::info("conn={} peer={} client=\"{}\" event=subscribe-refused filter=\"{}\" reason=0x{:02x} "
                "why=\"{}\"", conn_id_, peer_.to_string(), client_id_, sub.filter,
                static_cast<unsigned>(e.code), e.context);
      ack.reason_codes.push_back(version_ == ProtocolVersion::V5 ? e.code
                                                                 : ReasonCode::UnspecifiedError);
      continue;
    }
    const auto shared = topics::parse_shared(sub.filter);
    if (shared && o.no_local) {
      // The filters before it are in the router: the session must know them to undo them.
      session_->subscriptions.insert_or_assign_many(std::move(added));
      return close_for(ReasonCode::ProtocolError, "no local on a shared subscription");  // [MQTT-3.8.3-4]
    }
    if (!session_->subscriptions.contains(sub.filter)) added_new.insert(sub.filter);
    added.emplace_back(std::string(sub.filter), SubscriptionRecord{o, sub_id});
    const bool is_new = services_.subscribe(*session_, sub.filter, o, sub_id);
    ack.reason_codes.push_back(static_cast<ReasonCode>(o.max_qos));
    if (replay_from && !shared) {
      found.clear();
      if (auto r = services_.replay(*session_, sub.filter, *replay_from, found)) {
        if (!replay_total) replay_total.emplace();
        replay_total->count += r->count;
        if (!r->complete && replay_total->complete) {
          replay_total->complete = false;
          replay_total->gap = r->gap;
        }
        for (auto& msg : found) replayed.push_back({std::move(msg), o.max_qos});
      }
    }
    // Retained messages: never for shared subscriptions; retain handling 0 = send,
    // 1 = send if the subscription is new, 2 = do not send [MQTT-3.3.1-9..11].
    if (shared || o.retain_handling == 2 || (o.retain_handling == 1 && !is_new)) continue;
    retained.push_back(RetainedReplay{std::string(sub.filter), {}, sub_id, o.max_qos});
  }
  session_->subscriptions.insert_or_assign_many(std::move(added));
  std::string count_text;
  if (replay_total) {
    auto& up = ack.properties.user_properties;
    count_text = std::to_string(replay_total->count);
    up.push_back({"replay", replay_total->complete ? "complete" : "incomplete"});
    up.push_back({"replay-count", count_text});
    if (!replay_total->complete) up.push_back({"replay-gap", replay_total->gap});
  }
  send(ack);

  const auto now = services_.now();
  // Replayed retained messages carry RETAIN=1 [MQTT-3.3.1-8] and are paced by the session's
  // window and budget rather than dropped; they go before the log replay below.
  session_->replay_retained(std::move(retained), now);
  std::vector<uint32_t> ids;
  for (auto& r : replayed) {
    ids.clear();
    if (sub_id) ids.push_back(sub_id);
    session_->deliver_retained(r.msg, r.qos, ids, now, /*retain=*/false);
  }
}

void ClientLink::handle_unsubscribe(const codec::Unsubscribe& u) {
  codec::Unsuback ack{u.packet_id, {}, {}};
  ack.reason_codes.reserve(u.filters.size());
  // Removed from the session's map in one pass at the end (see handle_subscribe).
  std::unordered_set<std::string_view> removed;
  for (std::string_view filter : u.filters) {
    if (!topics::validate_topic_filter(filter).ok()) {
      ack.reason_codes.push_back(ReasonCode::TopicFilterInvalid);  // 3.1.1 UNSUBACK has no codes
      continue;
    }
    bool existed = false;
    if (session_->subscriptions.contains(filter) && removed.insert(filter).second) {
      existed = services_.unsubscribe(*session_, filter);
    }
    ack.reason_codes.push_back(existed ? ReasonCode::Success : ReasonCode::NoSubscriptionExisted);
  }
  if (!removed.empty()) {
    session_->subscriptions.erase_if([&](const auto& item) { return removed.contains(item.first); });
    // A filter's retained replay ends with its subscription.
    session_->stop_retained_replay([&](std::string_view filter) { return removed.contains(filter); });
  }
  send(ack);
}

}  // namespace hydrant::session
