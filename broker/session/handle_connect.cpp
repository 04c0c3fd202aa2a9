// CONNECT: version, client identifier, keep alive, session expiry, limits, will; then the
// session is opened by the services and CONNACK is sent by attach_session().
#include <random>

#include "session/client_link.hpp"
#include "topics/topic.hpp"
#include "util/log.hpp"

namespace hydrant::session {

using codec::ProtocolVersion;
using codec::ReasonCode;

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

Result<fanout::MessageRef> ClientLink::build_will(const codec::Connect& c) {
  const codec::Will& w = *c.will;
  if (auto ok = topics::validate_topic_name(w.topic); !ok) return ok.error();
  if (w.topic == "$SYS" || w.topic.starts_with("$SYS/")) {
    return Error{ReasonCode::NotAuthorized, "$SYS topics are published by the broker only"};
  }
  if (w.properties.payload_format_indicator.value_or(0) == 1 && !codec::is_valid_utf8(w.payload)) {
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
  state_ = LinkState::AwaitSession;
  services_.open_session(*this, clean_start_);
}

}  // namespace hydrant::session
