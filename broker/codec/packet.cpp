// The packet type of a decoded Packet.
#include "codec/packet.hpp"

namespace hydrant::codec {

PacketType packet_type(const Packet& p) {
  struct Visitor {
    PacketType operator()(const Connect&) const { return PacketType::Connect; }
    PacketType operator()(const Connack&) const { return PacketType::Connack; }
    PacketType operator()(const Publish&) const { return PacketType::Publish; }
    PacketType operator()(const Ack& a) const { return a.type; }
    PacketType operator()(const Subscribe&) const { return PacketType::Subscribe; }
    PacketType operator()(const Suback&) const { return PacketType::Suback; }
    PacketType operator()(const Unsubscribe&) const { return PacketType::Unsubscribe; }
    PacketType operator()(const Unsuback&) const { return PacketType::Unsuback; }
    PacketType operator()(const Pingreq&) const { return PacketType::Pingreq; }
    PacketType operator()(const Pingresp&) const { return PacketType::Pingresp; }
    PacketType operator()(const Disconnect&) const { return PacketType::Disconnect; }
    PacketType operator()(const Auth&) const { return PacketType::Auth; }
  };
  return std::visit(Visitor{}, p);
}

}  // namespace hydrant::codec
