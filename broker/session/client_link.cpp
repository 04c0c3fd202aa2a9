// ClientLink: input framing, dispatch, the single error-to-answer mapping, timers and sends.
// The packet handlers are in handle_*.cpp.
#include "session/client_link.hpp"

#include <chrono>
#include <cstring>

#include "util/log.hpp"
#include "util/log_untrusted.hpp"

namespace hydrant::session {

using codec::PacketType;
using codec::ProtocolVersion;

ClientLink::ClientLink(Services& services, uint64_t conn_id, util::PeerAddress peer,
                       Clock::time_point now)
    : services_(services), conn_id_(conn_id), created_(now), last_received_(now),
      last_write_progress_(now), peer_(peer) {}

ClientLink::~ClientLink() {
  if (holds_anonymous_slot_) services_.access().release_anonymous(peer_);
}

uint32_t ClientLink::inbound_packet_limit() const {
  const Limits& lim = services_.limits();
  if (state_ == LinkState::Connected && restricted_anonymous()) {
    return std::min(lim.anon_max_packet_size, lim.max_packet_size);
  }
  return lim.max_packet_size;
}

void ClientLink::on_bytes(codec::ByteView data) {
  services_.counters().bytes_received.add(data.size());
  if (rbuf_.empty()) {
    // The common case: whole packets, parsed in place from the transport's read buffer; only a
    // trailing partial packet is copied, so an idle connection holds no read buffer.
    const size_t used = process(data);
    if (used < data.size()) rbuf_.assign(data.begin() + static_cast<std::ptrdiff_t>(used), data.end());
  } else {
    rbuf_.insert(rbuf_.end(), data.begin(), data.end());
    drain_buffered();
  }
  // While a session is being fetched, bytes wait; bound what a client can pile up meanwhile.
  if ((state_ == LinkState::AwaitSession || refuse_at_ != Clock::time_point{}) && rbuf_.size() > 2 * size_t{services_.limits().max_packet_size}) {
    close_for(ReasonCode::PacketTooLarge, "too much input before CONNACK");
  }
}

void ClientLink::drain_buffered() {
  const size_t used = process(rbuf_);
  rbuf_.erase(rbuf_.begin(), rbuf_.begin() + static_cast<std::ptrdiff_t>(used));
  if (rbuf_.empty() && rbuf_.capacity() > kKeptReadBuffer) std::vector<uint8_t>().swap(rbuf_);
}

size_t ClientLink::process(codec::ByteView input) {
  if (processing_) return 0;  // re-entered from attach_session() inside handle_connect()
  processing_ = true;
  size_t used = 0;
  // A refused CONNECT waiting for its late CONNACK reads nothing more.
  while ((state_ == LinkState::AwaitConnect && refuse_at_ == Clock::time_point{}) ||
         state_ == LinkState::Connected) {
    const uint32_t max_size = inbound_packet_limit();
    const codec::ByteView avail = input.subspan(used);
    auto frame = codec::parse_frame(avail, max_size);
    if (!frame) {
      close_for(frame.error().code, frame.error().context);
      break;
    }
    if (!frame.value() || frame.value()->total_size() > avail.size()) break;
    const uint32_t size = frame.value()->total_size();
    auto packet = codec::decode(avail.first(size), version_);
    used += size;
    if (!packet) {
      if (state_ == LinkState::AwaitConnect) {
        // A CONNECT we cannot decode still says which version it speaks: answer an MQTT 5
        // client with a CONNACK carrying the reason (3.1.1 has no code for it: just close).
        if (codec::peek_connect_version(avail.first(size)) == ProtocolVersion::V5) {
          version_ = ProtocolVersion::V5;
          connect_decoded_ = true;
        }
      }
      close_for(packet.error().code, packet.error().context);
      break;
    }
    last_received_ = services_.now();
    dispatch(packet.value());
  }
  processing_ = false;
  return state_ == LinkState::Closed ? input.size() : used;  // a closed link reads no more
}

void ClientLink::dispatch(codec::Packet& packet) {
  const PacketType type = codec::packet_type(packet);
  if (state_ == LinkState::AwaitConnect) {
    if (type != PacketType::Connect) {
      return close_for(ReasonCode::ProtocolError, "first packet is not CONNECT");  // [MQTT-3.1.0-1]
    }
    return handle_connect(std::get<codec::Connect>(packet));
  }
  switch (type) {
    case PacketType::Publish: return handle_publish(std::get<codec::Publish>(packet));
    case PacketType::Puback: return handle_puback(std::get<codec::Ack>(packet));
    case PacketType::Pubrec: return handle_pubrec(std::get<codec::Ack>(packet));
    case PacketType::Pubrel: return handle_pubrel(std::get<codec::Ack>(packet));
    case PacketType::Pubcomp: return handle_pubcomp(std::get<codec::Ack>(packet));
    case PacketType::Subscribe: return handle_subscribe(std::get<codec::Subscribe>(packet));
    case PacketType::Unsubscribe: return handle_unsubscribe(std::get<codec::Unsubscribe>(packet));
    case PacketType::Pingreq: return send(codec::Pingresp{});
    case PacketType::Disconnect: return handle_disconnect(std::get<codec::Disconnect>(packet));
    case PacketType::Connect:
      return close_for(ReasonCode::ProtocolError, "second CONNECT");  // [MQTT-3.1.0-2]
    case PacketType::Auth:
      return close_for(ReasonCode::ProtocolError, "AUTH without an authentication method");
    default:
      return close_for(ReasonCode::ProtocolError, "packet type not sent by clients");
  }
}

void ClientLink::close_for(ReasonCode code, const char* why) {
  if (state_ == LinkState::Closed) return;
  services_.counters().protocol_errors.add();
  // A refused CONNECT logs once per address and period, then a count (issue 13): a client
  // reconnecting in a loop must not write the log for us.
  uint64_t lines = 1;
  if (state_ == LinkState::AwaitConnect) {
    lines = services_.access().refusal_log_due(
        peer_, std::chrono::duration_cast<std::chrono::milliseconds>(
                   services_.now().time_since_epoch()).count());
  }
  if (lines > 0) {
    log::info("conn={} peer={} client=\"{}\" event=closed reason=0x{:02x}({}) why=\"{}\"{}",
              conn_id_, peer_.to_string(), log::untrusted(client_id_), static_cast<unsigned>(code),
              reason_name(code), why,
              lines > 1 ? fmt::format(" refusals_since_last_line={}", lines - 1) : std::string());
  }
  if (state_ == LinkState::AwaitConnect || state_ == LinkState::AwaitSession) {
    // CONNECT refused: answer with a CONNACK when the failure has a CONNACK code.
    if (code == ReasonCode::UnsupportedProtocolVersion) {
      // The client's version is unknown: answer in the 3.1.1 form, which every version parses.
      version_ = ProtocolVersion::V311;
      send(codec::Connack{false, code, {}});
    } else if (connect_decoded_ && (version_ == ProtocolVersion::V5 ||
                                    (code != ReasonCode::MalformedPacket &&
                                     code != ReasonCode::ProtocolError))) {
      // MQTT 5 has a CONNACK code for every refusal; 3.1.1 only for a few of them.
      codec::Connack ack{false, code, {}};
      if (version_ == ProtocolVersion::V5 && problem_info_allowed()) ack.properties.reason_string = why;
      send(ack);
    }
    state_ = LinkState::Closed;
    return;
  }
  if (version_ == ProtocolVersion::V5 && state_ == LinkState::Connected) {
    codec::Disconnect d{code, {}};
    d.properties.reason_string = why;
    send(d);
  }
  finish_close(/*publish_will=*/true);
}

void ClientLink::finish_close(bool publish_will) {
  const bool had_session = state_ == LinkState::Connected;
  state_ = LinkState::Closed;
  if (had_session && session_) services_.close_session(*this, publish_will);
  session_ = nullptr;
}

void ClientLink::on_transport_closed() {
  if (state_ == LinkState::Closed) return;
  log::debug("conn={} client=\"{}\" event=peer-closed", conn_id_, log::untrusted(client_id_));
  finish_close(/*publish_will=*/true);
}

void ClientLink::close_taken_over() {
  if (state_ == LinkState::Closed) return;
  log::info("conn={} client=\"{}\" event=taken-over", conn_id_, log::untrusted(client_id_));
  if (version_ == ProtocolVersion::V5) send(codec::Disconnect{ReasonCode::SessionTakenOver, {}});
  // The services decide about the will and the session: the link just goes.
  state_ = LinkState::Closed;
  session_ = nullptr;
}

void ClientLink::on_tick(Clock::time_point now) {
  using std::chrono::seconds;
  const Limits& lim = services_.limits();
  if (refuse_at_ != Clock::time_point{} && state_ == LinkState::AwaitConnect) {
    if (now >= refuse_at_) close_for(ReasonCode::BadUserNameOrPassword, "bad user name or password");
    return;
  }
  if (state_ == LinkState::AwaitConnect && now - created_ >= seconds(lim.connect_timeout)) {
    log::info("conn={} peer={} event=closed why=\"no CONNECT in time\"", conn_id_,
              peer_.to_string());
    state_ = LinkState::Closed;
    return;
  }
  if (state_ != LinkState::Connected) return;
  if (principal_ && principal_->expires_at != 0 &&
      std::chrono::system_clock::now() >= std::chrono::system_clock::time_point(
                                              seconds(principal_->expires_at))) {
    return close_for(ReasonCode::MaximumConnectTime, "the signed token expired");
  }
  // Keep alive: one and a half times the interval without a packet [MQTT-3.1.2-22].
  if (keep_alive_ > 0 && now - last_received_ >= std::chrono::milliseconds(keep_alive_ * 1500)) {
    return close_for(ReasonCode::KeepAliveTimeout, "keep alive timeout");
  }
  // Nothing queued since the last tick: the outbound storage kept for the next packets goes back
  // to the allocator, so that thousands of quiet subscribers hold no write buffers while a busy
  // one still allocates nothing per packet.
  if (out_.empty() && now - last_write_progress_ >= std::chrono::milliseconds(200)) {
    out_.release_if_empty();
    if (session_) session_->release_if_idle();
  }
  if (!out_.empty() && now - last_write_progress_ >= seconds(lim.stuck_timeout)) {
    // The client has not read for too long: nothing more can be sent to it, not even DISCONNECT.
    log::warn("conn={} client=\"{}\" event=closed why=\"stuck reader\" pending_bytes={}", conn_id_,
              client_id_, out_.pending_bytes());
    out_.clear();
    finish_close(/*publish_will=*/true);
  }
}

void ClientLink::note_output() {
  // The stuck-reader clock starts when bytes begin to wait, not at the last write: a client idle
  // for longer than stuck-timeout must not be cut off by the first byte queued for it.
  last_write_progress_ = services_.now();
  services_.wants_write(*this);
}

ClientLink::TopicAliases& ClientLink::aliases() {
  if (!aliases_) aliases_ = std::make_unique<TopicAliases>();
  return *aliases_;
}

void ClientLink::send(const codec::Packet& packet) {
  if (out_.empty()) note_output();
  if (version_ == ProtocolVersion::V5 &&
      codec::encoded_size(packet, version_) > client_max_packet_size_) {
    // Reason strings and user properties are optional: leave them out rather than exceed the
    // client's Maximum Packet Size [MQTT-3.1.2-24].
    codec::Packet trimmed = packet;
    std::visit(
        [](auto& p) {
          if constexpr (requires { p.properties; }) {
            p.properties.reason_string.reset();
            p.properties.user_properties.clear();
          }
        },
        trimmed);
    out_.push_packet(trimmed, version_);
    return;
  }
  out_.push_packet(packet, version_);
}

void ClientLink::send_pubrel(uint16_t packet_id) {
  send(codec::Ack{PacketType::Pubrel, packet_id, ReasonCode::Success, {}});
}

uint16_t ClientLink::outbound_alias_for(std::string_view topic, bool& known) {
  known = false;
  if (client_topic_alias_maximum_ == 0) return 0;
  auto& outbound = aliases().outbound;
  if (auto it = outbound.find(std::string(topic)); it != outbound.end()) {
    known = true;
    return it->second;
  }
  if (outbound.size() >= client_topic_alias_maximum_) return 0;  // table full: no alias
  // The next free alias; send_publish() binds it only once the PUBLISH setting it is queued.
  return static_cast<uint16_t>(outbound.size() + 1);
}

bool ClientLink::send_publish(const PublishRef& d, uint16_t packet_id, bool dup,
                              Clock::time_point now) {
  fanout::DeliveryFields f;
  f.qos = d.qos;
  f.dup = dup;
  f.retain = d.retain;
  f.packet_id = packet_id;
  if (version_ == ProtocolVersion::V5) {
    f.subscription_ids = d.subscription_ids;
    f.expiry_left = d.msg->expiry_left(now);
    bool known = false;
    f.topic_alias = outbound_alias_for(d.msg->topic(), known);
    f.omit_topic = known;
  }
  const bool was_empty = out_.empty();
  // A packet larger than the client's Maximum Packet Size is not sent [MQTT-3.1.2-25].
  if (out_.push_publish(d.msg, f, version_, client_max_packet_size_) == 0) {
    services_.counters().messages_dropped.add();
    return false;
  }
  if (f.topic_alias && !f.omit_topic) {  // the client learns the alias from this PUBLISH
    aliases().outbound.emplace(std::string(d.msg->topic()), f.topic_alias);
  }
  if (was_empty) note_output();
  services_.counters().messages_sent.add();
  services_.counters().of(transport_).deliveries.add();
  return true;
}

void ClientLink::attach_session(Session* session, bool session_present) {
  session_ = session;
  std::optional<WillMessage> will;
  if (pending_will_) will = WillMessage{std::move(pending_will_), pending_will_delay_};
  session->attach(*this, version_, session_expiry_, std::move(will));
  session->handle()->ends_with_connection.store(session_expiry_ == 0);
  state_ = LinkState::Connected;

  codec::Connack ack{session_present, ReasonCode::Success, {}};
  if (version_ == ProtocolVersion::V5) {
    const Limits& lim = services_.limits();
    auto& p = ack.properties;
    if (client_id_assigned_) p.assigned_client_identifier = client_id_;
    if (server_keep_alive_sent_) p.server_keep_alive = keep_alive_;
    if (session_expiry_capped_) p.session_expiry_interval = session_expiry_;
    if (lim.receive_maximum != 65535) p.receive_maximum = lim.receive_maximum;
    p.maximum_packet_size = inbound_packet_limit();
    if (lim.topic_alias_maximum) p.topic_alias_maximum = lim.topic_alias_maximum;
  }
  send(ack);
  services_.session_attached(*session);
  log::debug("conn={} client=\"{}\" event=connected version={} session_present={}", conn_id_,
             client_id_, static_cast<int>(version_), session_present);
  const auto now = services_.now();
  session->resend_inflight(now);
  session->pump(now);
  // Packets that arrived behind CONNECT while the session was being fetched.
  if (!rbuf_.empty()) drain_buffered();
}

}  // namespace hydrant::session
