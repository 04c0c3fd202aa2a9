// SUBSCRIBE and UNSUBSCRIBE: validate each filter, record it in the session and the router,
// answer SUBACK/UNSUBACK, then send the retained messages the retain handling asks for.
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

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

namespace {

// MQTT 5 replay from the message log (user property `replay`): read right after each filter is
// in the router, described in the SUBACK, and delivered after it, before any live message.
class LogReplay {
 public:
  explicit LogReplay(const codec::Properties& props) {
    for (const auto& up : props.user_properties) {
      if (up.key == "replay") from_ = up.value;
    }
  }
  void read(Services& services, Session& session, std::string_view filter, uint8_t qos) {
    if (!from_) return;
    found_.clear();
    auto r = services.replay(session, filter, *from_, found_);
    if (!r) return;
    if (!total_) total_.emplace();
    total_->count += r->count;
    if (!r->complete && total_->complete) {
      total_->complete = false;
      total_->gap = r->gap;
    }
    for (auto& msg : found_) messages_.push_back({std::move(msg), qos});
  }
  // The SUBACK's user properties: replay complete or incomplete, the count, the gap.
  // `count_text` keeps the count's characters until the SUBACK is sent.
  void describe(codec::Suback& ack, std::string& count_text) const {
    if (!total_) return;
    auto& up = ack.properties.user_properties;
    count_text = std::to_string(total_->count);
    up.push_back({"replay", total_->complete ? "complete" : "incomplete"});
    up.push_back({"replay-count", count_text});
    if (!total_->complete) up.push_back({"replay-gap", total_->gap});
  }
  void deliver(Session& session, uint32_t sub_id, Clock::time_point now) {
    std::vector<uint32_t> ids;
    if (sub_id) ids.push_back(sub_id);
    for (auto& [msg, qos] : messages_) session.deliver_retained(msg, qos, ids, now, /*retain=*/false);
  }

 private:
  std::optional<std::string_view> from_;
  std::vector<std::pair<fanout::MessageRef, uint8_t>> messages_;  // with the granted QoS
  std::optional<Services::ReplayResult> total_;
  std::vector<fanout::MessageRef> found_;  // one filter's, reused
};

}  // namespace

// The SUBACK code refusing one filter, or Success: its syntax, deny-subscribe, then the access
// model and the subscription caps (`held`, `exists`: see check_subscribe_access). One log line
// per packet at most: a packet of 65,535 refused filters is one event. `why` gets the first
// refusal's reason, for the SUBACK's reason string (a viewer shows it to its user).
ReasonCode ClientLink::filter_refusal(std::string_view filter, size_t held, bool exists,
                                      size_t& refusals_logged, std::string& why) {
  const auto refused = [this, &why](ReasonCode v5, std::string_view reason) {
    if (why.empty()) why = reason;  // not the filter: cut, it might end mid-character
    return version_ == ProtocolVersion::V5 ? v5 : ReasonCode::UnspecifiedError;
  };
  if (auto ok = topics::validate_topic_filter(filter); !ok) {
    return refused(ReasonCode::TopicFilterInvalid, "not a valid topic filter");
  }
  if (denied(filter)) {
    return refused(ReasonCode::NotAuthorized, "subscriptions to this filter are refused here (deny-subscribe)");
  }
  if (auto checked = check_subscribe_access(filter, held, exists); !checked.ok()) {
    const Error& e = checked.error();
    if (refusals_logged++ == 0) {
      log::info("conn={} peer={} client=\"{}\" event=subscribe-refused filter=\"{}\" "
                "reason=0x{:02x} why=\"{}\"", conn_id_, peer_.to_string(), client_id_, filter,
                static_cast<unsigned>(e.code), e.context);
    }
    return refused(e.code, e.context);
  }
  return ReasonCode::Success;
}

void ClientLink::handle_subscribe(const codec::Subscribe& s) {
  const uint32_t sub_id =
      s.properties.subscription_identifiers.empty() ? 0 : s.properties.subscription_identifiers[0];
  codec::Suback ack{s.packet_id, {}, {}};
  ack.reason_codes.reserve(s.subscriptions.size());
  // Retained messages are not collected here: each filter gets a cursor, and the session pulls
  // them a chunk at a time as the client reads (Session::pump).
  std::vector<RetainedReplay> retained;
  LogReplay replay(s.properties);
  // The session's map is updated once at the end (a sorted vector: inserting filter by filter
  // would shift it once per filter, quadratic in a 65,535-filter SUBSCRIBE).
  std::vector<std::pair<std::string, SubscriptionRecord>> added;
  std::unordered_set<std::string_view> added_new;  // filters of this packet not held before
  size_t refusals_logged = 0;
  std::string refusal_why;  // outlives `ack`, whose reason string points into it

  for (const auto& sub : s.subscriptions) {
    const auto& o = sub.options;
    const bool exists = session_->is_subscribed(sub.filter) || added_new.contains(sub.filter);
    const size_t held = session_->subscriptions().size() + added_new.size();
    if (const ReasonCode refused = filter_refusal(sub.filter, held, exists, refusals_logged, refusal_why);
        refused != ReasonCode::Success) {
      ack.reason_codes.push_back(refused);
      continue;
    }
    const auto shared = topics::parse_shared(sub.filter);
    if (shared && o.no_local) {
      // The filters before it are in the router: the session must know them to undo them.
      session_->subscribe_many(std::move(added));
      return close_for(ReasonCode::ProtocolError, "no local on a shared subscription");  // [MQTT-3.8.3-4]
    }
    if (!session_->is_subscribed(sub.filter)) added_new.insert(sub.filter);
    added.emplace_back(std::string(sub.filter), SubscriptionRecord{o, sub_id});
    const bool is_new = services_.subscribe(*session_, sub.filter, o, sub_id);
    ack.reason_codes.push_back(static_cast<ReasonCode>(o.max_qos));
    if (!shared) replay.read(services_, *session_, sub.filter, o.max_qos);
    // Retained messages: never for shared subscriptions; retain handling 0 = send,
    // 1 = send if the subscription is new, 2 = do not send [MQTT-3.3.1-9..11].
    if (shared || o.retain_handling == 2 || (o.retain_handling == 1 && !is_new)) continue;
    retained.push_back(RetainedReplay{std::string(sub.filter), {}, sub_id, o.max_qos});
  }
  session_->subscribe_many(std::move(added));
  std::string count_text;
  replay.describe(ack, count_text);
  if (!refusal_why.empty() && version_ == ProtocolVersion::V5 && problem_info_allowed()) {
    ack.properties.reason_string = refusal_why;
  }
  send(ack);

  const auto now = services_.now();
  // Replayed retained messages carry RETAIN=1 [MQTT-3.3.1-8] and are paced by the session's
  // window and budget rather than dropped; they go before the log replay.
  session_->replay_retained(std::move(retained), now);
  replay.deliver(*session_, sub_id, now);
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
    if (session_->is_subscribed(filter) && removed.insert(filter).second) {
      existed = services_.unsubscribe(*session_, filter);
    }
    ack.reason_codes.push_back(existed ? ReasonCode::Success : ReasonCode::NoSubscriptionExisted);
  }
  if (!removed.empty()) {
    session_->unsubscribe_if([&](std::string_view filter) { return removed.contains(filter); });
    // A filter's retained replay ends with its subscription.
    session_->stop_retained_replay([&](std::string_view filter) { return removed.contains(filter); });
  }
  send(ack);
}

}  // namespace hydrant::session
