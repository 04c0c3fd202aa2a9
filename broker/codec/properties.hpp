// MQTT 5 properties (MQTT 5.0, 2.2.2.2) as one plain struct of optionals. Decoded string and
// binary properties are views into the packet's bytes; they are valid only while the buffer the
// packet was decoded from is alive. The codec checks which properties a packet type may carry,
// rejects duplicates of single-valued properties (Protocol Error) and unknown identifiers
// (Malformed Packet).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace hydrant::codec {

enum class PropertyId : uint8_t {
  PayloadFormatIndicator = 0x01,
  MessageExpiryInterval = 0x02,
  ContentType = 0x03,
  ResponseTopic = 0x08,
  CorrelationData = 0x09,
  SubscriptionIdentifier = 0x0B,
  SessionExpiryInterval = 0x11,
  AssignedClientIdentifier = 0x12,
  ServerKeepAlive = 0x13,
  AuthenticationMethod = 0x15,
  AuthenticationData = 0x16,
  RequestProblemInformation = 0x17,
  WillDelayInterval = 0x18,
  RequestResponseInformation = 0x19,
  ResponseInformation = 0x1A,
  ServerReference = 0x1C,
  ReasonString = 0x1F,
  ReceiveMaximum = 0x21,
  TopicAliasMaximum = 0x22,
  TopicAlias = 0x23,
  MaximumQos = 0x24,
  RetainAvailable = 0x25,
  UserProperty = 0x26,
  MaximumPacketSize = 0x27,
  WildcardSubscriptionAvailable = 0x28,
  SubscriptionIdentifierAvailable = 0x29,
  SharedSubscriptionAvailable = 0x2A,
};

struct UserProperty {
  std::string_view key;
  std::string_view value;
  bool operator==(const UserProperty&) const = default;
};

struct Properties {
  std::optional<uint8_t> payload_format_indicator;
  std::optional<uint32_t> message_expiry_interval;
  std::optional<std::string_view> content_type;
  std::optional<std::string_view> response_topic;
  std::optional<std::string_view> correlation_data;  // binary data
  // SUBSCRIBE carries at most one; a PUBLISH from the server may carry several.
  std::vector<uint32_t> subscription_identifiers;
  std::optional<uint32_t> session_expiry_interval;
  std::optional<std::string_view> assigned_client_identifier;
  std::optional<uint16_t> server_keep_alive;
  std::optional<std::string_view> authentication_method;
  std::optional<std::string_view> authentication_data;  // binary data
  std::optional<uint8_t> request_problem_information;
  std::optional<uint32_t> will_delay_interval;
  std::optional<uint8_t> request_response_information;
  std::optional<std::string_view> response_information;
  std::optional<std::string_view> server_reference;
  std::optional<std::string_view> reason_string;
  std::optional<uint16_t> receive_maximum;
  std::optional<uint16_t> topic_alias_maximum;
  std::optional<uint16_t> topic_alias;
  std::optional<uint8_t> maximum_qos;
  std::optional<uint8_t> retain_available;
  std::vector<UserProperty> user_properties;
  std::optional<uint32_t> maximum_packet_size;
  std::optional<uint8_t> wildcard_subscription_available;
  std::optional<uint8_t> subscription_identifier_available;
  std::optional<uint8_t> shared_subscription_available;

  bool operator==(const Properties&) const = default;
};

}  // namespace hydrant::codec
