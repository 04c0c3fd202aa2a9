// CONNECT: version, client identifier, keep alive, session expiry, limits, will; then the
// session is opened by the services and CONNACK is sent by attach_session().
#include <chrono>
#include <random>

#include "base/utf8.hpp"
#include "session/client_link.hpp"
#include "session/publish_checks.hpp"
#include "topics/topic.hpp"
#include "util/log.hpp"
#include "util/log_untrusted.hpp"
#include "util/wall_clock.hpp"

namespace hydrant::session {

using codec::ProtocolVersion;

namespace {

std::string assign_client_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kAlphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string id = "hydrant-";
  for (int i = 0; i < 16; ++i) id.push_back(kAlphabet[rng() % 36]);
  return id;
}

}  // namespace

Result<void> ClientLink::check_connect(codec::Connect& c) {
  const Limits& lim = services_.limits();
  const auto& p = c.properties;
  if (p.authentication_method) {
    return Error{ReasonCode::BadAuthenticationMethod, "authentication method not supported"};
  }
  if (p.authentication_data) {
    return Error{ReasonCode::ProtocolError, "authentication data without a method"};
  }
  if (c.client_id.empty()) {
    // 3.1 requires an id; 3.1.1 allows an empty one only with clean session [MQTT-3.1.3-8].
    if (version_ == ProtocolVersion::V31 || (version_ == ProtocolVersion::V311 && !c.clean_start)) {
      return Error{ReasonCode::ClientIdentifierNotValid, "empty client identifier"};
    }
    client_id_ = assign_client_id();
    client_id_assigned_ = version_ == ProtocolVersion::V5;
  } else {
    client_id_.assign(c.client_id);
  }

  keep_alive_ = c.keep_alive;
  if (lim.max_keepalive < 65535) {
    if (version_ == ProtocolVersion::V5) {
      // MQTT 5 lets the server impose its value, also on a client asking for none.
      if (c.keep_alive == 0 || c.keep_alive > lim.max_keepalive) {
        keep_alive_ = lim.max_keepalive;
        server_keep_alive_sent_ = true;
      }
    } else if (c.keep_alive > lim.max_keepalive) {
      // 3.1.1 cannot tell the client another value (mosquitto refuses the same way).
      return Error{ReasonCode::ClientIdentifierNotValid, "keep alive above the server maximum"};
    }
  }

  if (version_ == ProtocolVersion::V5) {
    session_expiry_ = p.session_expiry_interval.value_or(0);
    if (p.receive_maximum) client_receive_maximum_ = *p.receive_maximum;
    if (p.maximum_packet_size) client_max_packet_size_ = *p.maximum_packet_size;
    if (p.topic_alias_maximum) client_topic_alias_maximum_ = *p.topic_alias_maximum;
    if (p.request_problem_information) request_problem_information_ = *p.request_problem_information;
  } else {
    session_expiry_ = c.clean_start ? 0 : kSessionNeverExpires;
  }
  if (session_expiry_ > lim.max_session_expiry) {
    session_expiry_ = lim.max_session_expiry;
    session_expiry_capped_ = true;
  }
  clean_start_ = c.clean_start;

  if (c.will) {
    auto will = build_will(c);
    if (!will) return will.error();
    pending_will_ = std::move(will.value());
    pending_will_delay_ = c.will->properties.will_delay_interval.value_or(0);
  }
  return {};
}

// The access model at CONNECT (auth/rules.hpp): credentials, the per-IP cap on anonymous
// connections, who may use the client identifier and whether the session may persist, and the
// will.
Result<void> ClientLink::authorize_connect(const codec::Connect& c) {
  if (services_.access().open()) return {};
  if (auto r = authenticate(c); !r.ok()) return r;
  if (auto r = authorize_client_id(c); !r.ok()) return r;
  if (auto r = authorize_will(c); !r.ok()) return r;
  if (principal_) {
    log::info("conn={} peer={} client=\"{}\" user=\"{}\" event=authenticated{}", conn_id_,
              peer_.to_string(), log::untrusted(client_id_), principal_->user,
              principal_->expires_at ? " credential=signed" : "");
  }
  return {};
}

// The credentials (or none: an anonymous reader, within its address's cap).
Result<void> ClientLink::authenticate(const codec::Connect& c) {
  auth::AccessControl& access = services_.access();
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             services_.now().time_since_epoch()).count();
  // An address out of failed-authentication budget is refused before its password is looked
  // at (issue 13): guessing then costs the broker one table lookup. Anonymous reads go on.
  if (c.username && !access.auth_budget_allows(peer_, now_ms)) {
    services_.counters().auth_failures.add();
    return Error{ReasonCode::ConnectionRateExceeded, "too many failed authentications"};
  }
  auto result = access.authenticate(c.username, c.password, util::unix_seconds());
  using Outcome = auth::AuthResult::Outcome;
  if (result.outcome == Outcome::Refused) {
    access.record_auth_failure(peer_, now_ms);
    services_.counters().auth_failures.add();
    log::warn("conn={} peer={} client=\"{}\" user=\"{}\" event=auth-failed why=\"{}\"", conn_id_,
              peer_.to_string(), log::untrusted(client_id_), log::untrusted(c.username.value_or("")),
              result.log_reason);
    return Error{ReasonCode::BadUserNameOrPassword, "bad user name or password"};
  }
  principal_ = std::move(result.principal);
  if (!principal_) {
    if (!access.acquire_anonymous(peer_)) {
      return Error{ReasonCode::QuotaExceeded, "too many anonymous connections from this address"};
    }
    holds_anonymous_slot_ = true;
  }
  return {};
}

// Who may use this client identifier, and whether its session may outlive the connection.
Result<void> ClientLink::authorize_client_id(const codec::Connect& c) {
  auth::AccessControl& access = services_.access();
  const bool persistent = session_expiry_ > 0;
  bool keep = false;
  // A server-assigned identifier is nobody's, whatever its prefix.
  const auth::IdClaim claim = c.client_id.empty()
                                  ? auth::IdClaim::Free
                                  : access.claim_of(client_id_, principal_.get());
  const auto decision = auth::check_client_id(principal_.get(), client_id_, persistent, keep, claim);
  if (!decision.ok()) return Error{decision.code, decision.why};
  // Nobody inherits a session another connection made: only an owner resumes (issue 13).
  if (!auth::may_resume_session(principal_.get(), client_id_, claim)) clean_start_ = true;
  if (persistent && !keep) {
    // Only a user's queue/<clientId>/<name> outlives its connection. MQTT 5 is told in CONNACK
    // (Session Expiry 0); 3.1.1 has no way to say it, so a clean-session-0 CONNECT is refused.
    if (version_ != ProtocolVersion::V5) {
      return Error{ReasonCode::NotAuthorized,
                   "persistent sessions are named queue/<clientId>/<name> and need its token"};
    }
    session_expiry_ = 0;
    session_expiry_capped_ = true;
  }
  return {};
}

Result<void> ClientLink::authorize_will(const codec::Connect& c) {
  if (c.will) {
    // The broker publishes the will later on the client's behalf: it passes the rules a PUBLISH
    // would (issue 13), with the code a PUBLISH would get. 3.1.1 has no CONNACK code for a bad
    // payload, so it hears 5 (not authorized) as for a topic it may not publish to.
    const codec::Will& w = *c.will;
    auto checked = check_exchange_message(principal_.get(), services_.limits(), w.topic, w.payload,
                                          w.properties, w.retain);
    if (!checked.ok()) {
      Error e = checked.error();
      if (version_ != ProtocolVersion::V5) e.code = ReasonCode::NotAuthorized;
      return e;
    }
  }
  return {};
}

Result<fanout::MessageRef> ClientLink::build_will(const codec::Connect& c) {
  const codec::Will& w = *c.will;
  if (auto ok = topics::validate_topic_name(w.topic); !ok) return ok.error();
  if (w.topic == "$SYS" || w.topic.starts_with("$SYS/")) {
    return Error{ReasonCode::NotAuthorized, "$SYS topics are published by the broker only"};
  }
  if (w.properties.payload_format_indicator.value_or(0) == 1 && !is_valid_utf8(w.payload)) {
    return Error{ReasonCode::PayloadFormatInvalid, "will payload is not UTF-8"};
  }
  if (w.properties.response_topic) {
    if (auto ok = topics::validate_topic_name(*w.properties.response_topic); !ok) {
      return Error{ReasonCode::ProtocolError, "will response topic is not a topic name"};
    }
  }
  return fanout::Message::create(w.topic, w.payload, w.qos, w.retain, w.properties,
                                 /*origin_session=*/0, services_.now());
}

void ClientLink::handle_connect(codec::Connect& c) {
  version_ = c.protocol_version;
  connect_decoded_ = true;
  if (auto ok = check_connect(c); !ok) return close_for(ok.error().code, ok.error().context);
  if (auto ok = authorize_connect(c); !ok) {
    const auto delay = services_.limits().auth_failure_delay_ms;
    if (ok.error().code == ReasonCode::BadUserNameOrPassword && delay > 0) {
      // Answer wrong credentials late, so guessing tokens is slow; the tick sends the CONNACK.
      refuse_at_ = services_.now() + std::chrono::milliseconds(delay);
      return;
    }
    return close_for(ok.error().code, ok.error().context);
  }
  state_ = LinkState::AwaitSession;
  services_.open_session(*this, clean_start_);
}

}  // namespace hydrant::session
