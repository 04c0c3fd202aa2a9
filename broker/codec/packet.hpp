// One plain struct per MQTT control packet (3.1, 3.1.1 and 5.0), with spec-named fields, and the
// Packet variant that decode() yields. Strings and payloads are views into the bytes the packet was
// decoded from (valid only while that buffer lives); encode() takes the same structs back to bytes.
// Fields that exist only in MQTT 5 (reason codes, properties) are ignored when encoding 3.1.1 and
// left at their defaults when decoding it.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <variant>
#include <vector>

#include "codec/properties.hpp"
#include "codec/return_code_311.hpp"

namespace hydrant::codec {

enum class ProtocolVersion : uint8_t { V31 = 3, V311 = 4, V5 = 5 };

enum class PacketType : uint8_t {
  Connect = 1, Connack = 2, Publish = 3, Puback = 4, Pubrec = 5, Pubrel = 6, Pubcomp = 7,
  Subscribe = 8, Suback = 9, Unsubscribe = 10, Unsuback = 11, Pingreq = 12, Pingresp = 13,
  Disconnect = 14, Auth = 15,
};

struct Will {
  std::string_view topic;
  std::string_view payload;  // binary
  uint8_t qos = 0;
  bool retain = false;
  Properties properties;  // MQTT 5 will properties
  bool operator==(const Will&) const = default;
};

struct Connect {
  ProtocolVersion protocol_version = ProtocolVersion::V311;
  bool clean_start = true;  // "clean session" in 3.1/3.1.1
  uint16_t keep_alive = 0;
  std::string_view client_id;
  std::optional<Will> will;
  std::optional<std::string_view> username;
  std::optional<std::string_view> password;  // binary
  Properties properties;
  bool operator==(const Connect&) const = default;
};

struct Connack {
  bool session_present = false;
  ReasonCode reason_code = ReasonCode::Success;  // 3.1.1: mapped with to_connack_311 on encode
  Properties properties;
  bool operator==(const Connack&) const = default;
};

struct Publish {
  bool dup = false;
  uint8_t qos = 0;
  bool retain = false;
  std::string_view topic;  // may be empty in MQTT 5 when a topic alias is used
  uint16_t packet_id = 0;  // only when qos > 0
  Properties properties;
  std::string_view payload;  // binary
  bool operator==(const Publish&) const = default;
};

// PUBACK, PUBREC, PUBREL and PUBCOMP share one shape; `type` says which.
struct Ack {
  PacketType type = PacketType::Puback;
  uint16_t packet_id = 0;
  ReasonCode reason_code = ReasonCode::Success;
  Properties properties;
  bool operator==(const Ack&) const = default;
};

struct SubscriptionOptions {
  uint8_t max_qos = 0;
  bool no_local = false;           // MQTT 5
  bool retain_as_published = false;  // MQTT 5
  uint8_t retain_handling = 0;     // MQTT 5: 0, 1 or 2
  bool operator==(const SubscriptionOptions&) const = default;
};

struct TopicSubscription {
  std::string_view filter;
  SubscriptionOptions options;
  bool operator==(const TopicSubscription&) const = default;
};

struct Subscribe {
  uint16_t packet_id = 0;
  Properties properties;  // subscription identifier, user properties
  std::vector<TopicSubscription> subscriptions;  // at least one [MQTT-3.8.3-3]
  bool operator==(const Subscribe&) const = default;
};

struct Suback {
  uint16_t packet_id = 0;
  Properties properties;
  std::vector<ReasonCode> reason_codes;  // 3.1.1: 0x00-0x02 or 0x80
  bool operator==(const Suback&) const = default;
};

struct Unsubscribe {
  uint16_t packet_id = 0;
  Properties properties;
  std::vector<std::string_view> filters;  // at least one [MQTT-3.10.3-2]
  bool operator==(const Unsubscribe&) const = default;
};

struct Unsuback {
  uint16_t packet_id = 0;
  Properties properties;
  std::vector<ReasonCode> reason_codes;  // MQTT 5 only; 3.1.1 UNSUBACK has no payload
  bool operator==(const Unsuback&) const = default;
};

struct Pingreq { bool operator==(const Pingreq&) const = default; };
struct Pingresp { bool operator==(const Pingresp&) const = default; };

struct Disconnect {
  ReasonCode reason_code = ReasonCode::Success;  // MQTT 5
  Properties properties;
  bool operator==(const Disconnect&) const = default;
};

struct Auth {
  ReasonCode reason_code = ReasonCode::Success;
  Properties properties;
  bool operator==(const Auth&) const = default;
};

using Packet = std::variant<Connect, Connack, Publish, Ack, Subscribe, Suback, Unsubscribe,
                            Unsuback, Pingreq, Pingresp, Disconnect, Auth>;

PacketType packet_type(const Packet& p);

}  // namespace hydrant::codec
