// Acknowledgements of the server's outbound QoS 1/2 deliveries (PUBACK, PUBREC, PUBCOMP) and
// DISCONNECT from the client.
#include "session/client_link.hpp"

namespace hydrant::session {

using codec::PacketType;
using codec::ProtocolVersion;

void ClientLink::handle_puback(const codec::Ack& a) {
  session_->on_puback(a.packet_id, services_.now());
}

void ClientLink::handle_pubrec(const codec::Ack& a) {
  const bool failed = is_error(a.reason_code);
  if (!session_->on_pubrec(a.packet_id, failed, services_.now()) && !failed) {
    // Unknown id: answer so that the client's flow can end.
    send(codec::Ack{PacketType::Pubrel, a.packet_id,
                    version_ == ProtocolVersion::V5 ? ReasonCode::PacketIdentifierNotFound
                                                    : ReasonCode::Success, {}});
  }
}

void ClientLink::handle_pubcomp(const codec::Ack& a) {
  session_->on_pubcomp(a.packet_id, services_.now());
}

void ClientLink::handle_disconnect(const codec::Disconnect& d) {
  if (d.properties.session_expiry_interval) {
    // A session that was to end at disconnect cannot be made persistent here [MQTT-3.14.2-2].
    if (session_expiry_ == 0 && *d.properties.session_expiry_interval != 0) {
      return close_for(ReasonCode::ProtocolError, "session expiry set at DISCONNECT");
    }
    session_expiry_ = std::min(*d.properties.session_expiry_interval,
                               services_.limits().max_session_expiry);
    session_->change_expiry_interval(session_expiry_);
    session_->handle()->ends_with_connection.store(session_expiry_ == 0);
  }
  // Normal disconnection discards the will; 0x04 and error codes keep it [MQTT-3.14.4-3].
  const bool publish_will = d.reason_code != ReasonCode::Success;
  finish_close(publish_will);
}

}  // namespace hydrant::session
